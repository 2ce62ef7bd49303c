import Foundation
import Logging
@testable import UploadsPostgres
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// A throwaway PostgreSQL server for one test: `initdb` in a temporary folder, `postgres` on a
/// free port of 127.0.0.1 only (trust authentication, no Unix socket outside the folder), stopped
/// by its process id at the end and the folder removed.
///
/// PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user
/// (`runuser -u postgres --`) in a folder that user owns. Without PostgreSQL's programs
/// (`/usr/lib/postgresql/<version>/bin`, or `HOIST_POSTGRES_BIN`) the tests are skipped, so a
/// plain `swift test` works on a bare machine; `HOIST_REQUIRE_POSTGRES=1` (set by `.ci/run`) makes
/// that a failure instead, as `HOIST_REQUIRE_MOTO` does for the SQS tests.
final class PostgresServer: @unchecked Sendable {
    /// Whether the PostgreSQL tests are skipped here (no server programs, and not required).
    static let skipped: Bool = {
        binDirectory() == nil && ProcessInfo.processInfo.environment["HOIST_REQUIRE_POSTGRES"] != "1"
    }()

    let directory: String
    let bin: String
    /// The port; a start that fails (another process took the free port first) moves to another.
    private(set) var port: Int
    private let asRoot: Bool
    /// The postmaster's process id while it runs.
    private(set) var pid: pid_t?

    /// The database URL of the server (user `postgres`, database `postgres`, no TLS).
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }

    private init(directory: String, bin: String, port: Int, asRoot: Bool) {
        self.directory = directory
        self.bin = bin
        self.port = port
        self.asRoot = asRoot
    }

    /// Starts a server, runs `body` with it, then stops it by its process id and removes its folder.
    static func run<T: Sendable>(_ body: @Sendable (PostgresServer) async throws -> T) async throws -> T {
        let server = try start()
        do {
            let result = try await body(server)
            server.destroy()
            return result
        } catch {
            server.destroy()
            throw error
        }
    }

    /// A database configuration for this server, with short timeouts for tests.
    func configuration(queryTimeout: Duration = .seconds(10), poolSize: Int = 8) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: url)
        configuration.queryTimeout = queryTimeout
        configuration.connectTimeout = .seconds(2)
        configuration.maximumConnections = poolSize
        return configuration
    }

    /// Runs `body` with a database (its own pool, as one replica has) on this server, migrated.
    func withDatabase<T: Sendable>(queryTimeout: Duration = .seconds(10), migrate: Bool = true,
                                   _ body: @Sendable (PostgresUploadsDatabase) async throws -> T) async throws -> T {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .error  // the pool's reconnect attempts during an outage test are info
        let database = PostgresUploadsDatabase(configuration: try configuration(queryTimeout: queryTimeout), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            do {
                if migrate { try await database.migrate() }
                let result = try await body(database)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// The folder of PostgreSQL's programs: `HOIST_POSTGRES_BIN`, else the newest
    /// `/usr/lib/postgresql/<version>/bin` (Debian's layout) with `initdb` in it.
    static func binDirectory() -> String? {
        if let configured = ProcessInfo.processInfo.environment["HOIST_POSTGRES_BIN"], !configured.isEmpty {
            return FileManager.default.isExecutableFile(atPath: configured + "/initdb") ? configured : nil
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    static func start() throws -> PostgresServer {
        guard let bin = binDirectory() else {
            throw PostgresServerError("PostgreSQL's programs are not installed (HOIST_REQUIRE_POSTGRES=1): `apt-get install postgresql`.")
        }
        let asRoot = geteuid() == 0
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if asRoot {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres", .groupOwnerAccountName: "postgres"], ofItemAtPath: directory)
        }
        let server = PostgresServer(directory: directory, bin: bin, port: try freePort(), asRoot: asRoot)
        do {
            try server.execute("initdb", ["-D", "\(directory)/data", "--auth=trust", "--username=postgres", "--encoding=UTF8",
                                          "--no-sync", "--no-instructions"])
            // The free port can be taken by another process between the check and the bind
            // (tests start servers in parallel): try another one twice before giving up.
            var attempt = 1
            while true {
                do {
                    try server.startServer()
                    break
                } catch where attempt < 3 {
                    attempt += 1
                    server.port = try freePort()
                }
            }
        } catch {
            server.destroy()
            throw error
        }
        return server
    }

    /// Starts (or restarts) the postmaster on ``port`` and waits until it accepts connections.
    func startServer() throws {
        let options = "-p \(port) -c listen_addresses=127.0.0.1 -k \(directory) -c fsync=off -c synchronous_commit=off -c max_connections=200"
        try execute("pg_ctl", ["start", "-w", "-t", "120", "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-o", options])
        let pidFile = (try? String(contentsOfFile: "\(directory)/data/postmaster.pid", encoding: .utf8)) ?? ""
        guard let first = pidFile.split(separator: "\n").first, let number = pid_t(first.trimmingCharacters(in: .whitespaces)) else {
            throw PostgresServerError("PostgreSQL started but wrote no postmaster.pid; its log: \(log())")
        }
        pid = number
    }

    /// Stops the postmaster by its process id (SIGINT: PostgreSQL's fast shutdown, which closes
    /// every client connection) and waits until it has gone.
    func stopServer() {
        guard let pid else { return }
        kill(pid, SIGINT)
        let deadline = Date().addingTimeInterval(60)
        while Self.isAlive(pid) && Date() < deadline { usleep(50_000) }
        if Self.isAlive(pid) {
            kill(pid, SIGKILL)
            let killed = Date().addingTimeInterval(10)
            while Self.isAlive(pid) && Date() < killed { usleep(50_000) }
        }
        self.pid = nil
        // Wait until the port is free again, so a restart can bind it.
        let free = Date().addingTimeInterval(30)
        while Self.accepts(port: port) && Date() < free { usleep(50_000) }
    }

    /// Whether `pid` runs (a zombie waiting for its parent to reap it does not: pg_ctl's child
    /// is reparented, and whoever adopts it may be slow to reap).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// Stops the server and removes its folder.
    func destroy() {
        stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func log() -> String {
        String(((try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? "").suffix(2000))
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root, in the server's folder)
    /// and waits for it. posix_spawn and waitpid, not Foundation's `Process`, whose
    /// `waitUntilExit` was seen here never to return for a `runuser` that had exited.
    private func execute(_ program: String, _ arguments: [String]) throws {
        let outputPath = "\(directory)/\(program)-\(UUID().uuidString).out"
        // `cd` first: the postgres user may not be allowed into the test's working directory.
        let command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory, "\(bin)/\(program)"] + arguments
        let argv = (asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) }
        defer { cArguments.forEach { free($0) } }
        cArguments.append(nil)
        var child: pid_t = 0
        let spawned = posix_spawn(&child, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw PostgresServerError("posix_spawn \(argv[0]) failed: \(spawned)") }
        var status: Int32 = 0
        while waitpid(child, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED and WEXITSTATUS, spelled out: Swift does not import the macros.
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw PostgresServerError("\(program) failed (status \(status)): \(text.suffix(2000)) \(log())")
        }
    }

    /// A port of 127.0.0.1 the kernel says is free now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw PostgresServerError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw PostgresServerError("bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw PostgresServerError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

struct PostgresServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
