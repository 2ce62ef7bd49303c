import Foundation

/// A named fuzz target: one parser (or a parser and its reference) fed one input.
///
/// A target returns normally for every input, accepted or refused; it traps (``fuzzCheck(_:_:)``)
/// only when an invariant breaks, so libFuzzer saves that input as a finding.
public struct FuzzTarget: Sendable {
    /// The name `HOIST_FUZZ_TARGET` selects, and the corpus folder's name (`Fuzz/Corpus/<name>`).
    public let name: String
    /// Runs one input.
    public let run: @Sendable ([UInt8]) -> Void

    /// A target called `name` that runs `run` on each input.
    public init(_ name: String, _ run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name
        self.run = run
    }
}

/// Traps with `message` when `condition` is false: a broken invariant is a finding.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition {
        FileHandle.standardError.write(Data("fuzz check failed (\(file):\(line)): \(message())\n".utf8))
        fatalError("fuzz check failed: \(message())", file: file, line: line)
    }
}

/// Runs `body` to completion on the concurrency pool and waits for it: async parsers
/// (a request body's reader, the JWKS parser) under libFuzzer's synchronous callback.
public func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}

/// Reads a fuzz input as a few choices followed by data: a structure-aware target takes
/// its choices (a variant, piece sizes, lengths) from the front and parses the rest.
public struct FuzzInput {
    /// The input.
    public let bytes: [UInt8]
    /// How far the choices have consumed it.
    public private(set) var position = 0

    /// Starts at the beginning of `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte has been taken.
    public var isEmpty: Bool { position >= bytes.count }

    /// The next byte, or 0 when the input is used up.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A number in `range` from the next byte (or two, for ranges wider than 256).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = range.upperBound - range.lowerBound + 1
        let raw = width > 256 ? Int(byte()) << 8 | Int(byte()) : Int(byte())
        return range.lowerBound + raw % width
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(0, count))
        defer { position = end }
        return Array(bytes[position..<end])
    }

    /// The bytes up to the next `separator` (consumed, not returned), or to the end.
    public mutating func field(until separator: UInt8 = 0) -> [UInt8] {
        let rest = bytes[min(position, bytes.count)...]
        if let end = rest.firstIndex(of: separator) {
            defer { position = end + 1 }
            return Array(bytes[position..<end])
        }
        defer { position = bytes.count }
        return Array(rest)
    }

    /// What is left.
    public mutating func rest() -> [UInt8] { take(bytes.count - position) }
}

/// Splits `bytes` into pieces whose sizes (1…`maximum`) come from `seed`, as a body arrives
/// from a network in arbitrary reads.
public func pieces(of bytes: [UInt8], seed: UInt8, maximum: Int = 64) -> [ArraySlice<UInt8>] {
    var state = UInt32(seed) &* 2_654_435_761 &+ 1
    var out: [ArraySlice<UInt8>] = []
    var offset = 0
    while offset < bytes.count {
        state = state &* 1_103_515_245 &+ 12_345
        let size = seed == 0 ? bytes.count : 1 + Int((state >> 16) % UInt32(maximum))
        let end = min(bytes.count, offset + size)
        out.append(bytes[offset..<end])
        offset = end
    }
    return out
}
