import Foundation
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// moto's server mode (`moto_server`, from `pip install 'moto[server]'`) as a
/// child process on a free port of 127.0.0.1: an SQS no one here wrote.
///
/// Without `moto_server` on the `PATH` the moto tests are skipped, so a plain `swift test`
/// works on a machine without Python; `HOIST_REQUIRE_MOTO=1` (set by `.ci/run`) makes a
/// missing `moto_server` a failure instead. `HOIST_SKIP_MOTO=1` skips them in any case.
final class MotoServer: @unchecked Sendable {
    static let skipped: Bool = {
        let environment = ProcessInfo.processInfo.environment
        if environment["HOIST_SKIP_MOTO"] == "1" { return true }
        return executable() == nil && environment["HOIST_REQUIRE_MOTO"] != "1"
    }()

    let process: Process
    let port: Int
    let logPath: String
    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, logPath: String) {
        self.process = process
        self.port = port
        self.logPath = logPath
    }

    /// Starts moto, runs `body` with it, then stops it by its process id.
    static func run<T: Sendable>(_ body: @Sendable (MotoServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }

    /// `moto_server` on `PATH`, or `nil`.
    static func executable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/moto_server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func start() async throws -> MotoServer {
        guard let executable = executable() else {
            throw MotoError("moto_server is not on PATH (HOIST_REQUIRE_MOTO=1): install it with `pip install 'moto[server]'`.")
        }
        let port = try freePort()
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-moto-\(port)-\(UUID().uuidString).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        let server = MotoServer(process: process, port: port, logPath: logPath)
        // moto takes a few seconds to import; wait until it answers HTTP.
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if !process.isRunning {
                let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw MotoError("moto_server exited (status \(process.terminationStatus)) before answering: \(output.suffix(2000))")
            }
            if answers(port: port) { return server }
            try await Task.sleep(for: .milliseconds(200))
        }
        server.stop()
        throw MotoError("moto_server did not answer on 127.0.0.1:\(port) within 180 s; its log: \(logPath)")
    }

    /// Stops moto (SIGTERM to its process id, SIGKILL if it lingers) and removes its log.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// A port of 127.0.0.1 the kernel says is free now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw MotoError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw MotoError("bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw MotoError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `true` when something accepts a TCP connection on 127.0.0.1:`port` and answers an HTTP request.
    static func answers(port: Int) -> Bool {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var limit = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { return false }
        let size = 16
        var buffer = [UInt8](repeating: 0, count: size)
        return read(fd, &buffer, size) > 0
    }
}

struct MotoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
