import Foundation

/// Where and how to reach PostgreSQL, read from a `postgres://` URL
/// (`postgres://user:password@host:5432/database?sslmode=prefer`).
public struct PostgresConfiguration: Sendable {
    /// TLS towards the server, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable {
        /// Plain TCP.
        case disable
        /// TLS if the server offers it (libpq's default).
        case prefer
        /// TLS or no connection.
        case require
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int = 5432
    /// The role to log in as.
    public var username: String
    /// The role's password, if any. Never logged: see ``redactedURL``.
    public var password: String?
    /// The database; PostgreSQL's default (the role's name) when `nil`.
    public var database: String?
    /// TLS towards the server.
    public var tls: TLSMode = .prefer
    /// The most connections this process opens (the pool's bound).
    public var maximumConnections = 20
    /// How long a new connection may take before the attempt fails.
    public var connectTimeout: Duration = .seconds(3)
    /// How long one operation (waiting for a connection, then the query) may take before the
    /// caller gets ``DatabaseUnavailableError``; also the server's `statement_timeout`.
    public var queryTimeout: Duration = .seconds(5)
    /// How long start-up migrations may wait (for another replica's lock, then the DDL).
    public var migrationTimeout: Duration = .seconds(120)

    /// Creates a configuration.
    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String? = nil,
                tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Reads a `postgres://` (or `postgresql://`) URL: user, password, host, port, database,
    /// and the query parameter `sslmode` (`disable`, `prefer`, `require`).
    /// - Throws: ``PostgresStoreError`` `invalid_url`; its message never repeats the password.
    public init(url text: String) throws(PostgresStoreError) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresStoreError(.invalidURL, "The database URL must look like postgres://user:password@host:5432/database.")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresStoreError(.invalidURL, "The database URL names no host.")
        }
        self.host = host
        self.username = components.user?.removingPercentEncoding ?? "postgres"
        self.password = components.password?.removingPercentEncoding
        if let port = components.port {
            guard (1...65535).contains(port) else { throw PostgresStoreError(.invalidURL, "The database URL's port is out of range.") }
            self.port = port
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : (path.removingPercentEncoding ?? path)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: item.value ?? "") else {
                    throw PostgresStoreError(.invalidURL, "sslmode must be disable, prefer or require.")
                }
                tls = mode
            default:
                throw PostgresStoreError(.invalidURL, "The database URL's parameter \(item.name) is not supported (only sslmode).")
            }
        }
    }

    /// The URL without its password, for logs and messages: `postgres://hoist@db:5432/hoist`.
    public var redactedURL: String {
        var text = "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)"
        if let database { text += "/\(database)" }
        return text
    }
}
