import Foundation
import Logging
import Testing
@testable import TongbanCore

@Suite struct PersonalDataTests {
    @Test func masksResidentIDNumberKeepingRegionAndLastFour() {
        #expect(PersonalData.maskIDNumber("440203199001011234") == "440203********1234")
        #expect(PersonalData.maskIDNumber("11010519491231002X") == "110105********002X")
    }

    @Test func masksForeignerNumberAndShortValues() {
        #expect(PersonalData.maskIDNumber("USA310085061235") == "USA310*****1235")
        #expect(PersonalData.maskIDNumber("12345") == "*****")
    }

    @Test func masksChineseAndLatinNames() {
        #expect(PersonalData.maskName("张三") == "张*")
        #expect(PersonalData.maskName("欧阳娜娜") == "欧***")
        #expect(PersonalData.maskName("JOHN SMITH") == "J*** S****")
        #expect(PersonalData.maskName("") == "")
    }

    @Test func masksEveryIDNumberInFreeTextButNotLongerNumbers() {
        let text = "read 440203199001011234 then 11010519491231002x; order 12345678901234567890 stays; USA310085061235."
        let masked = PersonalData.maskIDNumbers(inText: text)
        #expect(masked == "read 440203********1234 then 110105********002x; order 12345678901234567890 stays; USA310*****1235.")
    }

    @Test func logHandlerMasksMessagesAndMetadata() {
        let recorder = RecordingLogHandler()
        var logger = Logger(label: "test") { _ in MaskingLogHandler(wrapping: recorder) }
        logger[metadataKey: "reader"] = "number 440203199001011234"
        logger.info("card 440203199001011234 read", metadata: ["id": "440203199001011234", "list": ["440203199001011234"]])
        let line = recorder.lines.joined()
        #expect(!line.contains("440203199001011234"))
        #expect(line.contains("440203********1234"))
    }
}

/// A log handler that keeps what it is given, for assertions.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    var lines: [String] { lock.withLock { stored } }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        lock.withLock { stored.append("\(event.message) \(all)") }
    }
}
