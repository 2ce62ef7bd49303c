import Testing
import Uploads

@Suite("Multipart plan")
struct MultipartPlanTests {
    static let MiB: Int64 = 1 << 20

    @Test("part size: 8 MiB, or ceil(size / 10,000) rounded up to a MiB when that is more",
          arguments: [
            (Int64(1), 8 * MiB), (5 * MiB, 8 * MiB), (80_000 * MiB, 8 * MiB), (80_000 * MiB + 1, 9 * MiB),
            (Int64(5) << 30, 8 * MiB), (Int64(100) << 30, 11 * MiB), (MultipartPlan.maximumSize, 525 * MiB),
          ])
    func partSize(_ size: Int64, _ expected: Int64) {
        let plan = MultipartPlan(size: size)
        #expect(plan.partSize == expected)
        #expect(plan.partSize >= MultipartPlan.minimumPartSize && plan.partSize <= MultipartPlan.maximumPartSize)
        #expect(Int64(plan.partCount) <= MultipartPlan.maximumParts)
        #expect(Int64(plan.partCount - 1) * plan.partSize < size && Int64(plan.partCount) * plan.partSize >= size)
    }

    @Test("part lengths: all the part size but the last, which holds the rest; no part 0 or past the end")
    func lengths() {
        let plan = MultipartPlan(size: 20 * Self.MiB + 5)
        #expect(plan.partCount == 3)
        #expect((0...4).map(plan.length(ofPart:)) == [nil, 8 * Self.MiB, 8 * Self.MiB, 4 * Self.MiB + 5, nil])
        let exact = MultipartPlan(size: 16 * Self.MiB)
        #expect(exact.partCount == 2 && exact.length(ofPart: 2) == 8 * Self.MiB)
        let one = MultipartPlan(size: 1)
        #expect(one.partCount == 1 && one.length(ofPart: 1) == 1)
    }

    @Test("completion check: exactly the plan's parts and lengths, else what is wrong")
    func problems() {
        let plan = MultipartPlan(size: 20 * Self.MiB)
        let good: [(number: Int, size: Int64)] = [(1, 8 * Self.MiB), (2, 8 * Self.MiB), (3, 4 * Self.MiB)]
        #expect(plan.problems(with: good) == nil)
        #expect(plan.problems(with: Array(good.prefix(2))) == "missing part 3")
        #expect(plan.problems(with: [good[0], (2, 8 * Self.MiB - 1), good[2]]) == "part 2 has \(8 * Self.MiB - 1) bytes, not \(8 * Self.MiB)")
        #expect(plan.problems(with: good + [(4, 1)]) == "part 4 is not part of this upload (it has 3 parts)")
        #expect(plan.problems(with: [])?.hasPrefix("missing parts 1, 2, 3") == true)
    }
}
