import Foundation
import HoistFuzzKit

/// The light parsers' fuzz targets: they link SigV4, FlatJSON and Events only, so the
/// instrumented build stays small (`HoistFuzzStore` holds the ones behind Hummingbird and JWTKit).
let targets: [FuzzTarget] = [
    SigV4Targets.header, SigV4Targets.query, SigV4Targets.signerVerifier, SigV4Targets.awsChunked, SigV4Targets.postPolicy,
    JSONTargets.flatJSON, JSONTargets.s3Event,
]

/// The target `HOIST_FUZZ_TARGET` names, read once.
let selectedTarget = FuzzMain.selected(from: targets)

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzMain.fuzzOne(selectedTarget, start, count)
}

#if !HOIST_LIBFUZZER
/// Without libFuzzer: replays files (`HoistFuzz replay Fuzz/Corpus Fuzz/Regressions`).
@main
struct HoistFuzzReplay {
    static func main() {
        exit(FuzzMain.replay(targets, arguments: CommandLine.arguments))
    }
}
#endif
