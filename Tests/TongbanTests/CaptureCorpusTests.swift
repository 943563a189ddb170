import Foundation
import Testing

/// Wave 2 · 3/8: the document camera on hard desks it was not built against. `Tests/tools/hard_scenes.py` renders
/// 36 scenes with a pinhole camera over the desk (desks light and dark, a lamp's fall-off, cast shadows, glare, tilt,
/// curl, cut off by the frame, small and far pages, blur, cards, several documents), each with its truth; `tongban
/// camera process` makes each what a capture would; the evaluator measures corners, proportions, straightness, the
/// paper's white, the red stamp, QR read-back, card-or-page decisions, standard sizes and warnings. Every figure is
/// printed. The issue's four failures are scenes of their own. Scenes named below are the known hard ones (left in
/// the issue's note); any other scene failing a figure fails the test.
@Suite(.serialized) struct CaptureCorpusTests {
    /// Hard-edged cast shadows across the page split it (the finder works on brightness); a page's curl bends its
    /// edges; a dark form's printed block, not its paper edge, is found; a pale card on a pale desk does not stand out.
    static let knownHard: Set<String> = ["shadow-band", "shadow-corner", "curl-edge", "dark-form", "card-light-desk"]

    @Test func theHardDeskScenesComeOutRightAndEveryFigureIsPrinted() async throws {
        let directory = try makeTemporaryDirectory("corpus")
        // 1920 × 1440: a document camera of 2.8 MP (an A4 page at about 120 dpi; at 1280 × 960 a QR code is at the
        // edge of readability and says more about the camera than the pipeline).
        let made = try await run("/usr/bin/python3", ["\(packageRoot)/Tests/tools/hard_scenes.py", "make", directory, "--size", "1920x1440"])
        try #require(made.status == 0, "\(made.standardError.suffix(2000))")
        let evaluated = try await run("/usr/bin/python3", ["\(packageRoot)/Tests/tools/hard_scenes.py", "evaluate", directory,
                                                           "--tongban", tongbanBinary, "--json", "\(directory)/figures.json"])
        print(evaluated.standardOutput)
        try #require(evaluated.status == 0, "\(evaluated.standardError.suffix(2000))")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/figures.json")))
                                   as? [String: Any])
        let summary = try #require(figures["summary"] as? [String: [String: Any]])
        #expect((figures["scenes"] as? [Any])?.count == 36, "every scene evaluated")
        // Every figure the checks read must be there: a missing one would pass an empty check.
        let wanted = ["decisions": "wrong", "corners": "over8px", "proportion": "over2pct", "turn": "over05deg", "white": "uneven",
                      "stamp": "lost", "qr": "unreadExpected", "warnings": "missing", "retake": "asked", "outOfFrameFlag": "ok"]
        for (metric, key) in wanted { try #require(summary[metric]?[key] != nil, "the evaluator gave no \(metric).\(key)") }
        let failures = try #require(figures["failures"] as? [[String: Any]])
        #expect(failures.count == 4, "the issue's four failures are scenes of the corpus")
        func names(_ metric: String, _ key: String) -> Set<String> {
            Set((summary[metric]?[key] as? [Any] ?? []).map { item in
                (item as? String) ?? ((item as? [Any])?.first as? String) ?? "\(item)"
            })
        }

        // The issue's four failures: the shadow, the 38° turn at a tilt, the page out of frame, the A4 page as a card.
        for failure in failures {
            #expect(failure["failing"] as? Bool == false, "\(failure["scene"] ?? ""): \(failure["figures"] ?? "")")
        }
        #expect(names("decisions", "wrong").subtracting(Self.knownHard).isEmpty, "card or page decided wrong: \(summary["decisions"] ?? [:])")
        #expect(names("corners", "over8px").subtracting(Self.knownHard).isEmpty, "corners more than 8 px off: \(summary["corners"] ?? [:])")
        #expect(names("proportion", "over2pct").subtracting(Self.knownHard.union(["cutoff-insisted"])).isEmpty,
                "proportions more than 2 % off: \(summary["proportion"] ?? [:])")
        #expect(names("turn", "over05deg").subtracting(Self.knownHard.union(["cutoff-insisted"])).isEmpty,
                "turned more than 0.5°: \(summary["turn"] ?? [:])")
        #expect(names("white", "uneven").isEmpty, "paper not evenly white: \(summary["white"] ?? [:])")
        #expect(names("stamp", "lost").subtracting(Self.knownHard).isEmpty, "red stamp not red: \(summary["stamp"] ?? [:])")
        #expect((summary["warnings"]?["missing"] as? [Any] ?? []).isEmpty && (summary["warnings"]?["extra"] as? [Any] ?? []).isEmpty,
                "quality warnings: \(summary["warnings"] ?? [:])")
        #expect(summary["retake"]?["asked"] as? Int == summary["retake"]?["of"] as? Int, "a doubtful capture asks for a retake")
        #expect(summary["outOfFrameFlag"]?["ok"] as? Int == summary["outOfFrameFlag"]?["of"] as? Int)
        // Every QR code the truth says is readable must read back, but for the known hard scenes.
        // A page far from the lens is flagged low-resolution (the clerk is asked to retake it): its QR code need not read.
        #expect(names("qr", "unreadExpected").subtracting(Self.knownHard.union(["far-a4"])).isEmpty, "QR read back: \(summary["qr"] ?? [:])")
        // Standard sizes: all but the known hard scenes and the cut-off page kept on insistence (not snapped: not whole).
        let scenes = figures["scenes"] as? [[String: Any]] ?? []
        let wrongSize = Set(scenes.filter { $0["standardSizeOK"] as? Bool == false }.compactMap { $0["name"] as? String })
        #expect(wrongSize.subtracting(Self.knownHard.union(["cutoff-insisted"])).isEmpty, "standard sizes wrong: \(wrongSize)")
    }
}
