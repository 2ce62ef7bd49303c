import Foundation

/// The two ways a fuzz executable runs its targets: under libFuzzer (one input per call, the
/// target named by `HOIST_FUZZ_TARGET`), or replaying files without libFuzzer (the ordinary
/// build, for CI and for reproducing a finding under a debugger).
public enum FuzzMain {
    /// The target `HOIST_FUZZ_TARGET` names; exits with the list of names when it names none.
    public static func selected(from targets: [FuzzTarget]) -> FuzzTarget {
        let name = ProcessInfo.processInfo.environment["HOIST_FUZZ_TARGET"] ?? ""
        if let target = targets.first(where: { $0.name == name }) { return target }
        FileHandle.standardError.write(Data("set HOIST_FUZZ_TARGET to one of: \(targets.map(\.name).joined(separator: " "))\n".utf8))
        exit(2)
    }

    /// libFuzzer's `LLVMFuzzerTestOneInput`: runs `target` on the `count` bytes at `start`.
    public static func fuzzOne(_ target: FuzzTarget, _ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
        let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
        target.run(bytes)
        return 0
    }

    /// The replay command line; returns the exit status.
    ///
    /// - `list`: prints the target names.
    /// - `replay ROOT…`: runs every file of `ROOT/<target>/` through each target (corpora and
    ///   regression inputs), printing one line per target.
    /// - `TARGET FILE…`: runs the files (or every file in a folder) through one target.
    public static func replay(_ targets: [FuzzTarget], arguments: [String]) -> Int32 {
        let args = Array(arguments.dropFirst())
        guard let command = args.first else {
            print("usage: \(arguments.first ?? "fuzz") list | replay ROOT… | TARGET FILE…")
            return 2
        }
        if command == "list" {
            targets.forEach { print($0.name) }
            return 0
        }
        if command == "replay" {
            let roots = Array(args.dropFirst())
            for target in targets {
                let started = Date()
                let files = roots.flatMap { Self.files(in: URL(fileURLWithPath: $0).appendingPathComponent(target.name).path) }
                for file in files { target.run(Self.read(file)) }
                let seconds = Date().timeIntervalSince(started)
                print("replay \(target.name): \(files.count) inputs, \(String(format: "%.2f", seconds)) s")
            }
            return 0
        }
        guard let target = targets.first(where: { $0.name == command }) else {
            print("unknown target \(command); targets: \(targets.map(\.name).joined(separator: " "))")
            return 2
        }
        let files = args.dropFirst().flatMap { Self.files(in: $0) }
        for file in files { target.run(Self.read(file)) }
        print("replay \(target.name): \(files.count) inputs")
        return 0
    }

    /// `path` itself if it is a file, else the regular files inside it (recursively), sorted.
    static func files(in path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let names = (FileManager.default.subpaths(atPath: path) ?? []).sorted()
        return names.map { "\(path)/\($0)" }.filter {
            var folder: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &folder) && !folder.boolValue
        }
    }

    static func read(_ path: String) -> [UInt8] {
        (FileManager.default.contents(atPath: path)).map { [UInt8]($0) } ?? []
    }
}
