import Foundation
import HoistFuzzKit

/// The fuzz targets behind Hummingbird, NIO, GRDB and JWTKit: the store's request documents
/// and form reader, the JWT and JWKS readers, the image header reader.
let targets: [FuzzTarget] = [
    StoreTargets.formData, StoreTargets.xml, StoreTargets.cors, StoreTargets.lifecycle, StoreTargets.notification,
    StoreTargets.bucketPolicy,
    AuthTargets.jws, AuthTargets.jwks, WorkerTargets.imageHeader, WorkerTargets.animationFrames, WorkerTargets.avifMetadata,
]

/// The target `HOIST_FUZZ_TARGET` names, read once.
let selectedTarget = FuzzMain.selected(from: targets)

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzMain.fuzzOne(selectedTarget, start, count)
}

#if !HOIST_LIBFUZZER
/// Without libFuzzer: replays files (`HoistFuzzStore replay Fuzz/Corpus Fuzz/Regressions`).
@main
struct HoistFuzzStoreReplay {
    static func main() {
        exit(FuzzMain.replay(targets, arguments: CommandLine.arguments))
    }
}
#endif
