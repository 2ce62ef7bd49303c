import Foundation
import SigV4

/// Finds the credentials to sign with, in the order the AWS tools use:
/// the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), then the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) for the
/// profile (`AWS_PROFILE`, default `default`).
///
/// An explicit profile skips the environment's keys, as the AWS CLI's
/// `--profile` does.
///
/// ```swift
/// let credentials = try CredentialChain().resolve()
/// ```
public struct CredentialChain: Sendable {
    /// The environment to read (the process's by default).
    public var environment: [String: String]
    /// The home directory, where `.aws/credentials` lives.
    public var homeDirectory: String

    /// Creates a chain over an environment and home directory.
    /// - Parameters:
    ///   - environment: the variables to read.
    ///   - homeDirectory: the home folder; default `$HOME`, else the account's home.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, homeDirectory: String? = nil) {
        self.environment = environment
        self.homeDirectory = homeDirectory ?? environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    }

    /// Resolves credentials.
    /// - Parameter profile: a profile of the shared file; skips the environment's keys.
    /// - Throws: ``CredentialError`` naming what was looked at when nothing is found.
    public func resolve(profile: String? = nil) throws -> SigV4Credentials {
        if profile == nil, let id = nonEmpty("AWS_ACCESS_KEY_ID") {
            guard let secret = nonEmpty("AWS_SECRET_ACCESS_KEY") else {
                throw CredentialError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not.")
            }
            return SigV4Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN"))
        }
        let name = profile ?? nonEmpty("AWS_PROFILE") ?? "default"
        let path = nonEmpty("AWS_SHARED_CREDENTIALS_FILE") ?? "\(homeDirectory)/.aws/credentials"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CredentialError(profile == nil
                ? "No credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or create \(path)."
                : "Profile '\(name)' not found: \(path) cannot be read.")
        }
        let profiles = SharedCredentialsFile.parse(text)
        guard let values = profiles[name] else {
            throw CredentialError("Profile '\(name)' is not in \(path).")
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw CredentialError("Profile '\(name)' in \(path) lacks aws_access_key_id or aws_secret_access_key.")
        }
        return SigV4Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }

    private func nonEmpty(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// No usable credentials were found.
public struct CredentialError: Error, CustomStringConvertible, Sendable {
    /// What was looked at and what is missing.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The INI format of `~/.aws/credentials`.
enum SharedCredentialsFile {
    /// Profiles by name, each a map of lowercased keys to values.
    static func parse(_ text: String) -> [String: [String: String]] {
        var profiles: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)).trimmingCharacters(in: .whitespaces) }
                current = name
                profiles[name, default: [:]] = profiles[name] ?? [:]
                continue
            }
            guard let profile = current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            profiles[profile, default: [:]][key] = value
        }
        return profiles
    }
}
