/// A ZIP archive written entry by entry, each stored as it is (method 0): what OFD packages need, and every reader
/// opens. An entry's bytes are known whole when it is added, so sizes and CRC-32 go in its local header.
struct StoredZipWriter: Sendable {
    private struct Entry: Sendable {
        var name: [UInt8]
        var crc: UInt32
        var size: UInt32
        var offset: UInt32
    }

    private var entries: [Entry] = []
    private var written = 0

    /// A ZIP without ZIP64 holds at most 4 GiB and 65,535 entries: an OFD of a few hundred scanned pages stays far
    /// below; a larger one is refused rather than written with sizes that wrap.
    static let maximumSize = Int(UInt32.max)
    /// 0xFFFF itself is ZIP64's marker to some readers.
    static let maximumEntries = Int(UInt16.max) - 1
    /// Room kept for the central directory and its end record.
    static let directoryReserve = 1 << 20

    /// The local header and bytes of one entry. `name` is a path inside the package (`Doc_0/Document.xml`).
    mutating func entry(_ name: String, _ data: [UInt8]) throws(OFDError) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        guard entries.count < Self.maximumEntries, written + 30 + nameBytes.count + data.count + Self.directoryReserve <= Self.maximumSize else {
            throw OFDError(message: "the OFD package would pass 4 GiB or 65,535 parts (ZIP without ZIP64); split the batch into smaller materials")
        }
        let crc = CRC32.checksum(data)
        let entry = Entry(name: nameBytes, crc: crc, size: UInt32(truncatingIfNeeded: data.count), offset: UInt32(truncatingIfNeeded: written))
        entries.append(entry)
        var out: [UInt8] = []
        out += Self.u32(0x0403_4B50)
        out += Self.u16(20) + Self.u16(0x0800) + Self.u16(0)  // version needed, flags (UTF-8 names), stored
        out += Self.u16(0) + Self.u16(0x21)  // time 00:00, date 1980-01-01
        out += Self.u32(crc) + Self.u32(entry.size) + Self.u32(entry.size)
        out += Self.u16(nameBytes.count) + Self.u16(0) + nameBytes
        out += data
        written += out.count
        return out
    }

    /// The central directory and its end record.
    mutating func finish() -> [UInt8] {
        let start = written
        var out: [UInt8] = []
        for entry in entries {
            out += Self.u32(0x0201_4B50)
            out += Self.u16(20) + Self.u16(20) + Self.u16(0x0800) + Self.u16(0)  // made by, needed, flags, stored
            out += Self.u16(0) + Self.u16(0x21)
            out += Self.u32(entry.crc) + Self.u32(entry.size) + Self.u32(entry.size)
            out += Self.u16(entry.name.count) + Self.u16(0) + Self.u16(0)  // name, extra, comment lengths
            out += Self.u16(0) + Self.u16(0) + Self.u32(0)  // disk, internal and external attributes
            out += Self.u32(entry.offset) + entry.name
        }
        let directorySize = out.count
        out += Self.u32(0x0605_4B50) + Self.u16(0) + Self.u16(0)
        out += Self.u16(entries.count) + Self.u16(entries.count)
        out += Self.u32(UInt32(truncatingIfNeeded: directorySize)) + Self.u32(UInt32(truncatingIfNeeded: start)) + Self.u16(0)
        written += out.count
        return out
    }

    /// Bytes written so far.
    var size: Int { written }

    static func u16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)] }
    static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}

/// CRC-32 (IEEE 802.3, reflected, as ZIP uses it).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBufferPointer { bytes in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
