import Testing
import IDCard
import LibUSB
@testable import Simulators

/// Endpoint choice for USB readers, and the FunctionFS descriptors the gadget simulator offers.
@Suite struct USBTransportTests {
    func endpoint(_ address: UInt8, _ packet: Int = 64) -> USBBulkEndpoint { USBBulkEndpoint(address: address, maxPacketSize: packet) }

    @Test func standardSplitEndpointsWhateverTheirDescriptorOrder() {
        let chosen = USBReaderEndpoints.choose(from: [endpoint(0x85), endpoint(0x06), endpoint(0x81), endpoint(0x02)], split: true)
        #expect(chosen == .split(headerOut: endpoint(0x02), bodyOut: endpoint(0x06), headerIn: endpoint(0x81), bodyIn: endpoint(0x85)))
        #expect(chosen?.summary == "split 02+06/81+85")
    }

    /// dummy_hcd cannot offer 0x06 and 0x85; the lower-numbered endpoint of each direction still carries the header.
    @Test func splitOnOtherNumbersKeepsLowerForHeader() {
        let chosen = USBReaderEndpoints.choose(from: [endpoint(0x02, 512), endpoint(0x07, 512), endpoint(0x81, 512), endpoint(0x86, 512)], split: true)
        #expect(chosen?.summary == "split 02+07/81+86")
    }

    @Test func onepairFallsBackToSingleEvenWhenSplitIsExpected() {
        #expect(USBReaderEndpoints.choose(from: [endpoint(0x81), endpoint(0x01)], split: true) == .single(out: endpoint(0x01), in: endpoint(0x81)))
        #expect(USBReaderEndpoints.choose(from: [endpoint(0x02), endpoint(0x06), endpoint(0x81), endpoint(0x85)], split: false)?.summary == "single 02/81")
    }

    @Test func noPairNoReader() {
        #expect(USBReaderEndpoints.choose(from: [endpoint(0x81), endpoint(0x82)], split: true) == nil)
        #expect(USBReaderEndpoints.choose(from: [], split: false) == nil)
    }

    @Test func functionFSDescriptorsDescribeTheStandardInterface() {
        let blob = FunctionFSReaderHost.descriptors(.split)
        func le32(_ offset: Int) -> Int { Int(blob[offset]) | Int(blob[offset + 1]) << 8 | Int(blob[offset + 2]) << 16 | Int(blob[offset + 3]) << 24 }
        #expect(le32(0) == 3)  // FUNCTIONFS_DESCRIPTORS_MAGIC_V2
        #expect(le32(4) == blob.count)
        #expect(le32(8) == 3)  // full and high speed
        #expect(le32(12) == 5 && le32(16) == 5)  // interface + four endpoints, each speed
        let fullSpeed = Array(blob[20..<(20 + 9 + 4 * 7)])
        #expect(fullSpeed[0...8] == [9, 4, 0, 0, 4, 0xFF, 0, 0, 1])
        #expect(stride(from: 9, to: fullSpeed.count, by: 7).map { fullSpeed[$0 + 2] } == [0x02, 0x06, 0x81, 0x85])
        #expect(stride(from: 9, to: fullSpeed.count, by: 7).allSatisfy { fullSpeed[$0 + 3] == 2 && fullSpeed[$0 + 4] == 64 })
        let single = FunctionFSReaderHost.descriptors(.single)
        #expect(single.count == 12 + 8 + 2 * (9 + 2 * 7))
        let strings = FunctionFSReaderHost.strings()
        #expect(strings.count == Int(strings[4]) && strings.last == 0)
    }
}
