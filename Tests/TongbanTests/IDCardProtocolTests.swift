import Foundation
import Testing
@testable import IDCard
@testable import SAMProtocol
import Simulators

func hex(_ text: String) -> [UInt8] { FrameInput.bytes(from: Array(text.utf8)) }

@Suite struct SAMFrameTests {
    @Test(arguments: [
        (SAMCommand.resetSAM, "AA AA AA 96 69 00 03 10 FF EC"),
        (.samStatus, "AA AA AA 96 69 00 03 11 FF ED"),
        (.readSAMID, "AA AA AA 96 69 00 03 12 FF EE"),
        (.findCard, "AA AA AA 96 69 00 03 20 01 22"),
        (.selectCard, "AA AA AA 96 69 00 03 20 02 21"),
        (.readBaseInfo, "AA AA AA 96 69 00 03 30 01 32"),
        (.readAdditionalAddress, "AA AA AA 96 69 00 03 30 03 30"),
        (.readBaseInfoWithFingerprint, "AA AA AA 96 69 00 03 30 10 23"),
        (.setBaudRate(0), "AA AA AA 96 69 00 03 60 00 63"),
        (.setMaximumRFFrame(0x50), "AA AA AA 96 69 00 04 61 FF 50 CA"),
    ])
    func requestFramesMatchTheReference(command: SAMCommand, expected: String) {
        #expect(command.frame == hex(expected))
    }

    @Test func referenceRepliesDecode() {
        var decoder = SAMFrameDecoder()
        let outputs = decoder.feed(hex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
            + hex("AA AA AA 96 69 00 04 00 00 80 84") + hex("AA AA AA 96 69 00 04 00 00 41 45"))
        #expect(outputs == [
            .reply(SAMReply(status: .findCardSuccess, data: [0, 0, 0, 0])),
            .reply(SAMReply(status: .noCard)),
            .reply(SAMReply(status: .readFailed)),
        ])
        #expect(decoder.pendingByteCount == 0)
    }

    @Test func statusBytesRoundTripWithMeanings() {
        for byte in UInt8.min...UInt8.max {
            #expect(SAMStatus(byte).byte == byte)
        }
        #expect(SAMStatus(0x41).description.contains("lifted"))
        #expect(SAMStatus(0x66).isFatal && SAMStatus(0x60).isFatal && !SAMStatus(0x80).isFatal)
    }

    @Test func baseInfoReplyIs1295BytesWithLength0508() {
        let frame = SpecimenCards.resident.reply().frame
        #expect(frame.count == 1295)
        #expect(frame[5] == 0x05 && frame[6] == 0x08)
        let withFingerprint = BaseInfo(text: SpecimenCards.resident.text, photo: SpecimenCards.photo,
                                       fingerprint: [UInt8](repeating: 7, count: 1024)).reply().frame
        #expect(withFingerprint.count == 2321)
    }

    @Test func byteByByteDeliveryYieldsTheSameFrames() {
        let stream = SpecimenCards.resident.reply().frame + SAMReply(status: .noCard).frame
        var decoder = SAMFrameDecoder()
        var outputs: [SAMFrameDecoder.Output] = []
        for byte in stream { outputs += decoder.feed([byte]) }
        #expect(outputs == [.reply(SpecimenCards.resident.reply()), .reply(SAMReply(status: .noCard))])
    }

    @Test func badChecksumIsDiscardedAndTheNextFrameStillDecodes() {
        var corrupted = SAMReply(status: .noCard).frame
        corrupted[corrupted.count - 1] ^= 0xFF
        var decoder = SAMFrameDecoder()
        let outputs = decoder.feed(corrupted + SAMReply(status: .success, data: [1, 2]).frame)
        // The corrupted frame is reported (checksum, then its remaining bytes as garbage); the next one decodes.
        if case .discarded(.badChecksum) = outputs[0] {} else { Issue.record("expected a checksum discard, got \(outputs[0])") }
        #expect(outputs.last == .reply(SAMReply(status: .success, data: [1, 2])))
        #expect(outputs.dropLast().allSatisfy { if case .discarded = $0 { true } else { false } })
    }

    @Test func absurdLengthsAreRejected() {
        var decoder = SAMFrameDecoder()
        let outputs = decoder.feed(SAMFrame.preamble + [0x20, 0x00] + SAMReply(status: .noCard).frame)
        #expect(outputs.first == .discarded(.badLength(0x2000)))
        #expect(outputs.last == .reply(SAMReply(status: .noCard)))
        var zero = SAMFrameDecoder()
        #expect(zero.feed(SAMFrame.preamble + [0, 0]).first == .discarded(.badLength(0)))
    }

    /// Property: any frames, with random garbage between them and random chunking, decode to the same replies.
    @Test func resynchronisesAfterRandomGarbage() {
        var generator = SeededGenerator(seed: 0x7467_6261_6E00)
        for _ in 0..<300 {
            let replies = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                SAMReply(sw1: 0, sw2: 0, status: SAMStatus(UInt8.random(in: 0...255, using: &generator)),
                         data: (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            var stream: [UInt8] = []
            for reply in replies {
                // Garbage never contains a full preamble, so every real frame must come out.
                stream += (0..<Int.random(in: 0...30, using: &generator)).map { _ in UInt8.random(in: 0...0xA9, using: &generator) }
                stream += reply.frame
            }
            var decoder = SAMFrameDecoder()
            var decoded: [SAMReply] = []
            var offset = 0
            while offset < stream.count {
                let chunk = min(stream.count - offset, Int.random(in: 1...64, using: &generator))
                for case .reply(let reply) in decoder.feed(stream[offset..<offset + chunk]) { decoded.append(reply) }
                offset += chunk
            }
            #expect(decoded == replies)
        }
    }

    /// Property: arbitrary bytes never crash the decoder and never yield a frame whose checksum is wrong.
    @Test func arbitraryBytesNeverProduceABadFrame() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<500 {
            var bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) { bytes.insert(contentsOf: SAMFrame.preamble, at: Int.random(in: 0...bytes.count, using: &generator)) }
            var decoder = SAMFrameDecoder()
            for case .reply(let reply) in decoder.feed(bytes) {
                #expect(SAMFrame.checksum(reply.frame.dropFirst(5).dropLast()) == reply.frame.last)
            }
        }
    }
}

@Suite struct IdentityParserTests {
    let today = "20261122"

    @Test func mod112CheckCharacterMatchesTheReferenceExample() {
        #expect(IdentityNumbers.mod112CheckCharacter("11010519491231002") == "X")
        #expect(IdentityNumbers.isValidMod112("11010519491231002X"))
        #expect(IdentityNumbers.isValidMod112("11010519491231002x"))
        #expect(!IdentityNumbers.isValidMod112("110105194912310021"))
    }

    @Test func icaoCheckDigit() {
        // ICAO 9303's own example: document number L898902C3 has check digit 6.
        #expect(IdentityNumbers.icaoCheckDigit("L898902C3") == 6)
    }

    @Test(arguments: SpecimenCards.all.map(\.0))
    func everyCardTypeRoundTripsThroughTheReplyFrame(type: CardType) throws {
        let info = SpecimenCards.all.first { $0.0 == type }!.1
        let record = try FrameInput.decodeBaseInfoFrame(info.reply().frame, today: today)
        #expect(record.cardType == type)
        #expect(record.numberValid)
        #expect(record.warnings.filter { !$0.contains("provisional") }.isEmpty, "\(record.warnings)")
        #expect(record.photo == CardPhoto(format: "wlt", decoded: false, jpeg: nil, note: nil))
    }

    @Test func residentFields() throws {
        let record = try IdentityParser.record(from: SpecimenCards.resident, additionalAddress: "北京市海淀区新址2号", today: today)
        #expect(record.name == "李华")
        #expect(record.sex == .female)
        #expect(record.ethnicity == "汉" && record.ethnicityCode == "01")
        #expect(record.birthDate == "1949-12-31")
        #expect(record.idNumber == "11010519491231002X")
        #expect(record.validFrom == "2020-01-01")
        #expect(record.validUntil == "long-term")
        #expect(record.additionalAddress == "北京市海淀区新址2号")
        #expect(record.passNumber == nil && record.nationality == nil)
    }

    @Test func otherCardTypesFields() throws {
        let permit = try IdentityParser.record(from: SpecimenCards.hkMacaoTaiwan, today: today)
        #expect(permit.passNumber == "H12345678" && permit.issueCount == "01" && permit.ethnicity == nil)
        let foreigner = try IdentityParser.record(from: SpecimenCards.foreigner2017, today: today)
        #expect(foreigner.nameEnglish == "SMITH, JOHN" && foreigner.name == "约翰" && foreigner.nationality == "USA")
        #expect(foreigner.birthDate == "1985-06-12" && foreigner.cardVersion == "01" && foreigner.issuingAuthority == "1500")
        let newer = try IdentityParser.record(from: SpecimenCards.foreigner2023, today: today)
        #expect(newer.nameEnglish == "MARTIN MARIE" && newer.nationality == "CAN" && newer.renewalCount == "00")
        #expect(newer.warnings.contains { $0.contains("provisional") })
    }

    @Test func failedChecksAreWarningsNotRefusals() throws {
        var fields = CardText.fields(of: SpecimenCards.resident.text, as: .resident)
        fields[.number] = "110105194912310021"   // wrong check character
        fields[.sex] = "1"                        // number says female
        fields[.birthDate] = "19500101"           // number says 1949-12-31
        fields[.validUntil] = "20250101"          // expired before today
        fields[.ethnicity] = "77"
        let record = try IdentityParser.record(from: BaseInfo(text: CardText.encode(fields, as: .resident), photo: []), today: today)
        #expect(!record.numberValid)
        #expect(record.name == "李华")
        let joined = record.warnings.joined(separator: "\n")
        for fragment in ["MOD 11-2", "sex does not match", "birth date does not match", "expired on 2025-01-01", "ethnicity code '77'"] {
            #expect(joined.contains(fragment), "missing warning: \(fragment)")
        }
        #expect(!joined.contains("110105194912310021"), "warnings reach logs: numbers in them are masked")
    }

    @Test func maskedCopyHidesPersonalFields() throws {
        let record = try IdentityParser.record(from: SpecimenCards.resident, today: today).maskedCopy()
        #expect(record.name == "李*")
        #expect(record.idNumber == "110105********002X")
        #expect(record.birthDate == "1949-**-**")
        #expect(record.address?.hasPrefix("北京市西城区") == true && record.address?.contains("1号") == false)
        #expect(record.masked == true)
    }

    @Test func jsonUsesTheDocumentedFieldNamesAndOmitsAbsentOnes() throws {
        let record = try IdentityParser.record(from: SpecimenCards.resident, today: today)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as! [String: Any]
        #expect(object["cardType"] as? String == "resident")
        #expect(object["validUntil"] as? String == "long-term")
        #expect(object["sex"] as? String == "female")
        #expect(object["passNumber"] == nil)
        #expect((object["photo"] as? [String: Any])?["format"] as? String == "wlt")
    }

    @Test func additionalAddressReply() throws {
        let text = Array("新住址".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) + Array([[UInt8]](repeating: [0x20, 0x00], count: 32).joined())
        #expect(try IdentityParser.additionalAddress(from: SAMReply(status: .success, data: text)) == "新住址")
        #expect(try IdentityParser.additionalAddress(from: SAMReply(status: .noSuchItem)) == nil)
        #expect(throws: IDCardError.reader(.readFailed, during: .readAdditionalAddress)) {
            try IdentityParser.additionalAddress(from: SAMReply(status: .readFailed))
        }
    }

    @Test func decodeNamesWhatIsWrong() {
        var bad = SpecimenCards.resident.reply().frame
        bad[bad.count - 1] ^= 1
        #expect(throws: IDCardError.self) { try FrameInput.decodeBaseInfoFrame(bad, today: today) }
        do {
            _ = try FrameInput.decodeBaseInfoFrame(bad, today: today)
        } catch { #expect(error.description.contains("checksum")) }
        do {
            _ = try FrameInput.decodeBaseInfoFrame(Array(SpecimenCards.resident.reply().frame.prefix(600)), today: today)
        } catch { #expect(error.description.contains("truncated: 695 more byte(s)")) }
        do {
            _ = try FrameInput.decodeBaseInfoFrame(SAMReply(status: .readFailed).frame, today: today)
        } catch { #expect(error.description.contains("0x41 read failed")) }
    }
}

/// A deterministic generator (SplitMix64) so property tests reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
