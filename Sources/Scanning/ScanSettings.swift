import Delivery
import Foundation
import Imaging
import SANE
import TongbanCore

/// What the clerk (or the case system) asks a scan to be.
public struct ScanRequest: Codable, Sendable {
    /// A device id from `GET /v1/devices` (`sane:test:0`) or a SANE name (`test:0`); default from config.
    public var device: String?
    /// `adf` (the feeder), `flatbed`, or the backend's own name of a source.
    public var source: String?
    /// Both sides through the feeder (the backend's duplex source).
    public var duplex: Bool?
    public var dpi: Int?
    /// `color`, `gray` or `lineart` (grey scanned, stored black-and-white as CCITT G4).
    public var mode: String?
    /// `A4`, `A5`, `B5`, `letter`, `legal`, or a custom size with `paperWidthMm`/`paperHeightMm`.
    public var paper: String?
    public var paperWidthMm: Double?
    public var paperHeightMm: Double?
    public var caseNumber: String
    public var materialName: String
    public var `operator`: String?
    public var cleanup: PageCleanup?
    /// Backend-specific options set by name before scanning, as `scanimage --name value` would.
    public var saneOptions: [String: String]?
    /// Stop after this many pages (the feeder may hold more).
    public var maxPages: Int?
    /// Recognise the pages' text for the PDF's text layer and search (default from `scanning.ocr`).
    public var ocr: Bool?
    /// The attachment's format: `pdf` (PDF/A-2b, the default) or `ofd` (GB/T 33190, for archives that want it).
    public var format: String?

    public init(device: String? = nil, source: String? = nil, duplex: Bool? = nil, dpi: Int? = nil, mode: String? = nil,
                paper: String? = nil, caseNumber: String, materialName: String, operator: String? = nil,
                cleanup: PageCleanup? = nil, saneOptions: [String: String]? = nil, maxPages: Int? = nil) {
        self.device = device
        self.source = source
        self.duplex = duplex
        self.dpi = dpi
        self.mode = mode
        self.paper = paper
        self.caseNumber = caseNumber
        self.materialName = materialName
        self.operator = `operator`
        self.cleanup = cleanup
        self.saneOptions = saneOptions
        self.maxPages = maxPages
    }

    static let papers: [String: (Double, Double)] = [
        "a4": (210, 297), "a5": (148, 210), "b5": (176, 250), "letter": (215.9, 279.4), "legal": (215.9, 355.6),
    ]

    /// Every problem with the request at once.
    public var problems: [String] {
        var problems = AttachmentRequest.caseProblems(caseNumber: caseNumber, materialName: materialName)
        if let dpi, !(50...1200).contains(dpi) { problems.append("dpi must be 50…1200, not \(dpi)") }
        if let mode, !["color", "gray", "lineart"].contains(mode) { problems.append("mode must be color, gray or lineart, not '\(mode)'") }
        if let paper, Self.papers[paper.lowercased()] == nil {
            problems.append("paper must be one of A4, A5, B5, letter, legal, not '\(paper)'")
        }
        if (paperWidthMm == nil) != (paperHeightMm == nil) { problems.append("paperWidthMm and paperHeightMm go together") }
        if let width = paperWidthMm, !(10...1000).contains(width) { problems.append("paperWidthMm must be 10…1000") }
        if let height = paperHeightMm, !(10...5000).contains(height) { problems.append("paperHeightMm must be 10…5000") }
        if let maxPages, maxPages < 1 { problems.append("maxPages must be at least 1") }
        if let format, !["pdf", "ofd"].contains(format) { problems.append("format must be pdf or ofd, not '\(format)'") }
        problems += cleanup?.problems ?? []
        return problems
    }
}

/// A request resolved against the configuration: what the batch scans with, kept with the batch.
public struct ScanSettings: Codable, Sendable, Equatable {
    /// The SANE name of the scanner.
    public var scanner: String
    public var source: String?
    public var duplex: Bool
    public var dpi: Int
    public var mode: String
    public var paperWidthMm: Double
    public var paperHeightMm: Double
    public var cleanup: PageCleanup
    public var saneOptions: [String: String]
    /// `pdf` or `ofd`; nil (batches before it could be chosen) is PDF.
    public var format: String?

    /// A flatbed gives one page per scan (it would give the same page forever).
    public var isFlatbed: Bool { source?.lowercased() == "flatbed" }

    /// Fills in defaults. `scanner` is the SANE name already resolved.
    public init(_ request: ScanRequest, scanner: String, defaultDPI: Int, jpegQuality: Int, recognizeText: Bool = false,
                defaultFormat: String = "pdf") {
        self.scanner = scanner
        source = request.source
        duplex = request.duplex ?? false
        dpi = request.dpi ?? defaultDPI
        mode = request.mode ?? "color"
        if let width = request.paperWidthMm, let height = request.paperHeightMm {
            paperWidthMm = width
            paperHeightMm = height
        } else {
            (paperWidthMm, paperHeightMm) = ScanRequest.papers[(request.paper ?? "A4").lowercased()] ?? (210, 297)
        }
        var cleanup = request.cleanup ?? PageCleanup()
        if request.cleanup == nil { cleanup.jpegQuality = jpegQuality }
        if mode == "lineart" { cleanup.bitonal = true }
        // `ocr` is the request's say on text, then a cleanup's own recognizeText; without either, `scanning.ocr` —
        // also when the request tunes other cleanup (a cleanup object without recognizeText must not switch it off).
        cleanup.recognizeText = request.ocr ?? request.cleanup?.recognizeTextGiven ?? recognizeText
        self.cleanup = cleanup
        saneOptions = request.saneOptions ?? [:]
        format = request.format ?? defaultFormat
    }
}

/// Applies settings to an open scanner through its options, whatever their types and units.
enum ScannerSetup {
    /// Sets mode, resolution, source and geometry; returns the resolution the backend settled on.
    static func apply(_ settings: ScanSettings, to device: SANEDevice) async throws(SANEError) -> Int {
        var options = try await device.options()
        func option(_ name: String) -> SANEOptionDescriptor? { options.first { $0.name == name && $0.isSettable } }

        if let mode = option("mode"), case .strings(let modes) = mode.constraint {
            let wanted: [String] = switch settings.mode {
            case "gray", "lineart": ["gray", "grey"]
            default: ["color", "colour"]
            }
            if let choice = modes.first(where: { name in wanted.contains { name.lowercased().contains($0) } }) {
                try await device.set("mode", .string(choice))
                options = try await device.options()
            }
        }
        if option("depth") != nil {
            // 8 bits per sample: what the pipeline wants, and what every backend offers. A backend without it keeps its
            // own depth, which the wrapper converts.
            _ = try? await device.set("depth", .int(8))
        }
        if let source = option("source"), case .strings(let sources) = source.constraint {
            let choice = try chooseSource(settings, sources, device: device.name)
            try await device.set("source", .string(choice))
            options = try await device.options()
        } else if settings.duplex {
            throw SANEError(call: "sane_control_option(source)", device: device.name, status: .unsupported,
                            reason: "the scanner has no source option, so no duplex feeder")
        }
        var dpi = settings.dpi
        if let resolution = option("resolution") ?? option("x-resolution") {
            let target = nearest(Double(settings.dpi), in: resolution.constraint)
            let applied = try await device.set(resolution.name, resolution.type == .fixed ? .fixed(target) : .int(Int(target)))
            dpi = Int((applied.number ?? target).rounded())
            if resolution.name == "x-resolution", option("y-resolution") != nil {
                try await device.set("y-resolution", resolution.type == .fixed ? .fixed(target) : .int(Int(target)))
            }
        }
        // Geometry: top-left at the origin, bottom-right at the paper size, clamped to the bed.
        for (name, millimetres) in [("tl-x", 0.0), ("tl-y", 0.0), ("br-x", settings.paperWidthMm), ("br-y", settings.paperHeightMm)] {
            guard let geometry = option(name) else { continue }
            var value = geometry.unit == .pixel ? millimetres / 25.4 * Double(dpi) : millimetres
            if case .range(let low, let high, _) = geometry.constraint { value = min(max(value, low), high) }
            try await device.set(name, geometry.type == .fixed ? .fixed(value) : .int(Int(value.rounded())))
        }
        for (name, text) in settings.saneOptions.sorted(by: { $0.key < $1.key }) {
            guard let descriptor = try await device.options().first(where: { $0.name == name }) else {
                throw SANEError(call: "sane_control_option(\(name))", device: device.name, status: .unsupported,
                                reason: "the scanner has no option '\(name)'")
            }
            try await device.set(name, try value(text, for: descriptor, device: device.name))
        }
        return dpi
    }

    static func chooseSource(_ settings: ScanSettings, _ sources: [String], device: String) throws(SANEError) -> String {
        let lowered = sources.map { $0.lowercased() }
        func first(_ test: (String) -> Bool) -> String? { zip(sources, lowered).first { test($0.1) }?.0 }
        let isFeeder: (String) -> Bool = { $0.contains("adf") || $0.contains("feeder") || $0.contains("duplex") }
        if settings.duplex {
            guard let duplex = first({ $0.contains("duplex") }) else {
                throw SANEError(call: "sane_control_option(source)", device: device, status: .unsupported,
                                reason: "no duplex source; the scanner offers: \(sources.joined(separator: ", "))")
            }
            return duplex
        }
        switch settings.source?.lowercased() {
        case nil, "adf", "feeder":
            if let feeder = first({ isFeeder($0) && !$0.contains("duplex") && !$0.contains("back") }) { return feeder }
            if settings.source == nil, let any = sources.first { return any }
            throw SANEError(call: "sane_control_option(source)", device: device, status: .unsupported,
                            reason: "no document feeder; the scanner offers: \(sources.joined(separator: ", "))")
        case "flatbed":
            if let flatbed = first({ $0.contains("flatbed") || $0.contains("normal") || !isFeeder($0) }) { return flatbed }
            throw SANEError(call: "sane_control_option(source)", device: device, status: .unsupported,
                            reason: "no flatbed; the scanner offers: \(sources.joined(separator: ", "))")
        case let name?:
            if let exact = first({ $0 == name }) { return exact }
            throw SANEError(call: "sane_control_option(source)", device: device, status: .invalid,
                            reason: "no source '\(settings.source ?? "")'; the scanner offers: \(sources.joined(separator: ", "))")
        }
    }

    static func nearest(_ value: Double, in constraint: SANEConstraint) -> Double {
        switch constraint {
        case .numbers(let allowed): allowed.min { abs($0 - value) < abs($1 - value) } ?? value
        case .range(let low, let high, _): min(max(value, low), high)
        default: value
        }
    }

    static func value(_ text: String, for option: SANEOptionDescriptor, device: String) throws(SANEError) -> SANEValue {
        switch option.type {
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: break
            }
        case .int: if let number = Int(text) { return .int(number) }
        case .fixed: if let number = Double(text) { return .fixed(number) }
        case .string: return .string(text)
        default: break
        }
        throw SANEError(call: "sane_control_option(\(option.name))", device: device, status: .invalid,
                        reason: "'\(text)' is not a \(option.type) value")
    }
}
