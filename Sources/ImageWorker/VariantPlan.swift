import Uploads

/// Which responsive copies the worker makes: widths × formats (`HOIST_VARIANT_WIDTHS`,
/// `HOIST_VARIANT_FORMATS`), and which of them one image gets.
///
/// An image is never enlarged: it gets the widths up to its displayed width, and always the
/// smallest (at its own size when it is narrower still).
///
/// ```swift
/// let plan = VariantPlan()            // 320, 640, 1280, 1920 × WebP, AVIF
/// plan.widths(forDisplayWidth: 1500)  // [320, 640, 1280]
/// plan.widths(forDisplayWidth: 200)   // [320] (written 200 px wide)
/// ```
public struct VariantPlan: Sendable, Equatable {
    /// The configured widths, ascending, without repeats.
    public let widths: [Int]
    /// The configured formats, in the order given (the first is preferred for `derived`).
    public let formats: [ImageVariant.Format]

    /// The widths a configuration may name.
    public static let widthRange = 16...8192
    /// The most widths a configuration may name.
    public static let maximumWidthCount = 8

    /// A plan; the defaults are 320, 640, 1280 and 1920 pixels, in WebP and AVIF.
    /// - Throws: ``PlanError`` when a list is empty, a width is out of ``widthRange``, or a value repeats.
    public init(widths: [Int] = [320, 640, 1280, 1920], formats: [ImageVariant.Format] = [.webp, .avif]) throws(PlanError) {
        guard !widths.isEmpty else { throw PlanError("at least one width is needed") }
        guard widths.count <= Self.maximumWidthCount else { throw PlanError("at most \(Self.maximumWidthCount) widths; got \(widths.count)") }
        if let bad = widths.first(where: { !Self.widthRange.contains($0) }) {
            throw PlanError("a width must be \(Self.widthRange.lowerBound)…\(Self.widthRange.upperBound) pixels; got \(bad)")
        }
        guard Set(widths).count == widths.count else { throw PlanError("a width is listed twice") }
        guard !formats.isEmpty else { throw PlanError("at least one format is needed") }
        guard Set(formats).count == formats.count else { throw PlanError("a format is listed twice") }
        self.widths = widths.sorted()
        self.formats = formats
    }

    /// The default plan (320, 640, 1280, 1920 × WebP, AVIF).
    public static var standard: VariantPlan {
        // The defaults satisfy every rule above.
        (try? VariantPlan()) ?? VariantPlan(checkedWidths: [320], formats: [.webp])
    }

    private init(checkedWidths: [Int], formats: [ImageVariant.Format]) {
        self.widths = checkedWidths
        self.formats = formats
    }

    /// The widths an image `displayWidth` pixels wide (its orientation applied) gets, ascending:
    /// every configured width up to its own, and always the smallest.
    public func widths(forDisplayWidth displayWidth: Int) -> [Int] {
        let fitting = widths.filter { $0 <= displayWidth }
        return fitting.isEmpty ? Array(widths.prefix(1)) : fitting
    }

    /// The format the compatibility names (`thumbnail`, `web`) point at: WebP when made, else the first.
    public var preferredFormat: ImageVariant.Format {
        formats.contains(.webp) ? .webp : formats[0]
    }

    /// A plan that cannot be used, with what is wrong.
    public struct PlanError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
