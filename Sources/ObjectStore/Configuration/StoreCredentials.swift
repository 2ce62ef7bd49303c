import Foundation
import SigV4

/// The store's access key: from the environment, or made on first start and
/// kept in the data folder (`credentials.json`, mode 0600).
public enum StoreCredentials {
    /// Where the credentials came from.
    public enum Origin: Sendable, Equatable {
        /// `HOIST_STORE_ACCESS_KEY` / `HOIST_STORE_SECRET_KEY`.
        case environment
        /// Read from the data folder.
        case file(String)
        /// Made now and written to the data folder.
        case created(String)
    }

    /// Loads or creates the credentials.
    /// - Parameters:
    ///   - directory: the data folder.
    ///   - environment: where `HOIST_STORE_ACCESS_KEY` / `HOIST_STORE_SECRET_KEY` are read.
    public static func load(directory: URL, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (SigV4Credentials, Origin) {
        if let id = environment["HOIST_STORE_ACCESS_KEY"], !id.isEmpty {
            guard let secret = environment["HOIST_STORE_SECRET_KEY"], !secret.isEmpty else {
                throw StoreSetupError("HOIST_STORE_ACCESS_KEY is set but HOIST_STORE_SECRET_KEY is not.")
            }
            return (SigV4Credentials(accessKeyId: id, secretAccessKey: secret), .environment)
        }
        let file = directory.appendingPathComponent("credentials.json")
        if let data = try? Data(contentsOf: file) {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: String],
                  let id = object["accessKeyId"], let secret = object["secretAccessKey"] else {
                throw StoreSetupError("\(file.path) is not valid; delete it to make new credentials.")
            }
            return (SigV4Credentials(accessKeyId: id, secretAccessKey: secret), .file(file.path))
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let credentials = SigV4Credentials(accessKeyId: "HOIST" + randomString(15, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
                                           secretAccessKey: randomString(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
        let json = try JSONSerialization.data(withJSONObject: ["accessKeyId": credentials.accessKeyId,
                                                               "secretAccessKey": credentials.secretAccessKey], options: [.sortedKeys])
        let temporary = directory.appendingPathComponent(".credentials.json.tmp")
        FileManager.default.createFile(atPath: temporary.path, contents: json, attributes: [.posixPermissions: 0o600])
        try FileManager.default.moveItem(at: temporary, to: file)
        return (credentials, .created(file.path))
    }

    static func randomString(_ count: Int, alphabet: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let letters = Array(alphabet)
        return String((0..<count).map { _ in letters[Int(generator.next(upperBound: UInt64(letters.count)))] })
    }
}

/// The store cannot start as configured.
public struct StoreSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
