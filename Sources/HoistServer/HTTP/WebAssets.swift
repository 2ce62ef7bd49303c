/// The files `hoist serve` serves, compiled into the binary by SwiftPM
/// (`resources: [.embedInCode(…)]` in `Package.swift`): an installed binary needs no
/// resource bundle, and the bytes served are always those of the files in the repository.
enum WebAssets {
    /// `Sources/HoistServer/Web/index.html`: the upload page.
    static var indexHTML: [UInt8] { PackageResources.index_html }
    /// `Sources/HoistServer/Web/hoist-upload.js`: the browser client module.
    static var uploadJS: [UInt8] { PackageResources.hoist_upload_js }
    /// `Sources/HoistServer/openapi.yaml`: the API's OpenAPI 3.1 document (the file CI validates).
    static var openAPIYAML: [UInt8] { PackageResources.openapi_yaml }
}
