import AsyncHTTPClient
import Foundation
import Logging
import SigV4

/// Finds the credentials to sign with, in the order the AWS tools use:
/// the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), then the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) for the
/// profile (`AWS_PROFILE`, default `default`), then, through ``provider(profile:httpClient:refreshBefore:logger:)``,
/// a container's role credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `…_FULL_URI`,
/// ``ContainerCredentialProvider``), which are temporary and refreshed before they expire.
///
/// An explicit profile skips the environment's keys, as the AWS CLI's
/// `--profile` does. The chain reads only the `environment` it is given.
///
/// ```swift
/// let provider = try CredentialChain().provider(logger: logger)
/// let credentials = try await provider.credentials()
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

    /// Where credentials come from, long-lived or temporary: what every signing command should use.
    ///
    /// Order: an explicit `profile` (the shared file only); the environment's keys; the shared
    /// file's profile (`AWS_PROFILE`, or `default` when the file has it); the container credentials
    /// endpoint.
    ///
    /// - Parameters:
    ///   - profile: a profile of the shared file; skips the environment's keys and the container.
    ///   - httpClient: the client container credentials are fetched with (by default one that
    ///     follows no redirects).
    ///   - refreshBefore: container credentials are fetched again when fewer than this many
    ///     seconds remain: at least 300, and more than the longest pre-signed URL's lifetime.
    ///   - logger: where the container provider logs refreshes (never secrets).
    ///   - fetchTimeout: time allowed for one fetch from the container endpoint.
    /// - Returns: a ``StaticCredentialProvider`` or a ``ContainerCredentialProvider``.
    /// - Throws: ``CredentialError`` naming what was looked at when nothing is found, or why a
    ///   container credentials URL is refused.
    public func provider(profile: String? = nil, httpClient: HTTPClient? = nil, refreshBefore: TimeInterval = 300,
                         logger: Logger? = nil, fetchTimeout: Duration = .seconds(5)) throws -> any CredentialProvider {
        if let credentials = try staticCredentials(profile: profile) {
            return StaticCredentialProvider(credentials)
        }
        if let endpoint = try ContainerCredentialsEndpoint(environment: environment) {
            return ContainerCredentialProvider(endpoint: endpoint, httpClient: httpClient, timeout: fetchTimeout,
                                               refreshBefore: max(300, refreshBefore), logger: logger)
        }
        throw CredentialError(noCredentialsMessage)
    }

    /// Resolves long-lived credentials: the environment's keys or a profile of the shared file
    /// (not the container's temporary ones: use ``provider(profile:httpClient:refreshBefore:logger:)``).
    /// - Parameter profile: a profile of the shared file; skips the environment's keys.
    /// - Throws: ``CredentialError`` naming what was looked at when nothing is found.
    public func resolve(profile: String? = nil) throws -> SigV4Credentials {
        if let credentials = try staticCredentials(profile: profile) { return credentials }
        if nonEmpty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != nil || nonEmpty("AWS_CONTAINER_CREDENTIALS_FULL_URI") != nil {
            throw CredentialError("Only container credentials are configured (AWS_CONTAINER_CREDENTIALS_*): they are fetched "
                                  + "through CredentialChain.provider(), not resolve().")
        }
        throw CredentialError(noCredentialsMessage)
    }

    var sharedFilePath: String { nonEmpty("AWS_SHARED_CREDENTIALS_FILE") ?? "\(homeDirectory)/.aws/credentials" }

    var noCredentialsMessage: String {
        "No credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, create \(sharedFilePath), "
            + "or run where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI is set (ECS, EKS)."
    }

    /// The environment's keys or a profile; `nil` when neither is configured and the container may be tried.
    func staticCredentials(profile: String?) throws -> SigV4Credentials? {
        if profile == nil, let id = nonEmpty("AWS_ACCESS_KEY_ID") {
            guard let secret = nonEmpty("AWS_SECRET_ACCESS_KEY") else {
                throw CredentialError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not.")
            }
            return SigV4Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN"))
        }
        let explicit = profile ?? nonEmpty("AWS_PROFILE")
        let name = explicit ?? "default"
        let path = sharedFilePath
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            if explicit == nil { return nil }
            throw CredentialError(profile == nil
                ? "AWS_PROFILE is '\(name)' but \(path) cannot be read."
                : "Profile '\(name)' not found: \(path) cannot be read.")
        }
        let profiles = SharedCredentialsFile.parse(text)
        guard let values = profiles[name] else {
            if explicit == nil { return nil }
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
