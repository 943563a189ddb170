import Foundation

/// A line of recognised text to lay invisibly over a page's image, so the PDF can be searched and its text copied.
public struct PDFTextLine: Sendable, Codable, Equatable {
    /// The line's text, as recognised.
    public var text: String
    /// The line's box in the page image's pixels, origin top left: left edge, top edge, width and height.
    public var x: Int
    /// See `x`.
    public var y: Int
    /// See `x`.
    public var width: Int
    /// See `x`.
    public var height: Int

    /// A line to lay over the page.
    public init(text: String, x: Int, y: Int, width: Int, height: Int) {
        self.text = text
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// The invisible text layer's font and codes.
///
/// Every character of the document gets its own code (CID 1, 2, …) in the order it first appears; the ToUnicode map
/// gives each code its character — rare ones beyond the Basic Multilingual Plane (𠮷 U+20BB7) as a UTF-16 pair — and
/// the CIDToGIDMap sends every code to the font's one blank glyph, never to `.notdef` (PDF/A-2 forbids showing it).
/// The font program is a TrueType font of two empty glyphs built here, embedded as PDF/A requires; its advance
/// width (half an em) is the `/DW` the CIDFont declares, so the widths agree as PDF/A requires too.
struct TextLayerFont {
    private(set) var codes: [Unicode.Scalar: UInt16] = [:]
    private(set) var scalars: [Unicode.Scalar] = []

    /// The glyph's advance in text space units (thousandths of the font size).
    static let advance = 500
    /// How much narrower a space is drawn, in the same units.
    static let spaceNarrowing = 250

    var isUsed: Bool { !scalars.isEmpty }

    /// The hex string of codes for `text` (two bytes a character), giving new characters their codes.
    mutating func encode(_ text: String) -> String {
        var hex = ""
        for scalar in text.unicodeScalars {
            let code: UInt16
            if let known = codes[scalar] {
                code = known
            } else {
                guard scalars.count < 0xFFFE else { continue }
                scalars.append(scalar)
                code = UInt16(scalars.count)
                codes[scalar] = code
            }
            hex += String(format: "%04X", code)
        }
        return hex
    }

    /// The content-stream operators drawing `lines` invisibly (rendering mode 3) over an image of the given size in
    /// pixels shown at `scale` points a pixel: each line's text spread across its box with horizontal scaling.
    mutating func contentOperators(_ lines: [PDFTextLine], pageHeightPixels: Int, scale: Double) -> String {
        var out = ""
        for line in lines {
            let characters = line.text.unicodeScalars.count
            let spaces = line.text.unicodeScalars.filter { $0 == " " }.count
            guard characters > 0, line.width > 0, line.height > 0 else { continue }
            let size = Double(line.height) * scale
            let width = Double(line.width) * scale
            // A space is drawn a quarter em narrower than the other characters (a TJ adjustment after it), as text
            // has it: spread as wide as a Han character, it reads to pdftotext as a gap between columns.
            let natural = (Double(characters * Self.advance) - Double(spaces * Self.spaceNarrowing)) * size / 1000
            let stretch = natural > 0 ? 100 * width / natural : 100
            // The baseline near the box's foot: descenders hang below it.
            let baseline = Double(pageHeightPixels - line.y - line.height) * scale + size * 0.15
            let words = line.text.split(separator: " ", omittingEmptySubsequences: false)
            var array = ""
            for (index, word) in words.enumerated() {
                let last = index == words.count - 1
                let codes = encode(last ? String(word) : word + " ")
                if !codes.isEmpty { array += "<\(codes)>" }
                if !last { array += " \(Self.spaceNarrowing) " }
            }
            guard !array.isEmpty else { continue }
            out += "BT 3 Tr /TL0 \(ArchivalPDFWriter.number(size)) Tf \(ArchivalPDFWriter.number(stretch)) Tz "
                + "1 0 0 1 \(ArchivalPDFWriter.number(Double(line.x) * scale)) \(ArchivalPDFWriter.number(baseline)) Tm [\(array)] TJ ET\n"
        }
        return out
    }

    /// The ToUnicode CMap: each code to its character.
    var toUnicode: String {
        var out = """
            /CIDInit /ProcSet findresource begin
            12 dict begin
            begincmap
            /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
            /CMapName /Adobe-Identity-UCS def
            /CMapType 2 def
            1 begincodespacerange
            <0000> <FFFF>
            endcodespacerange

            """
        var index = 0
        while index < scalars.count {
            let chunk = scalars[index..<min(index + 100, scalars.count)]
            out += "\(chunk.count) beginbfchar\n"
            for (offset, scalar) in chunk.enumerated() {
                let utf16 = String(scalar).utf16.map { String(format: "%04X", $0) }.joined()
                out += String(format: "<%04X>", index + offset + 1) + " <\(utf16)>\n"
            }
            out += "endbfchar\n"
            index += chunk.count
        }
        out += "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        return out
    }

    /// CIDToGIDMap: code 0 to glyph 0, every code in use to glyph 1.
    var cidToGlyphMap: [UInt8] {
        var map: [UInt8] = [0, 0]
        for _ in scalars { map += [0, 1] }
        return map
    }

    /// A TrueType font of two glyphs, `.notdef` and one blank glyph half an em wide (units per em 1000).
    static let program: [UInt8] = {
        func u16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)] }
        func u32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        let unitsPerEm = 1000, glyphs = 2
        var head: [UInt8] = u32(0x0001_0000) + u32(0x0001_0000) + u32(0) + u32(0x5F0F_3CF5)
        // flags, units per em, created and modified (2026-01-01, in seconds since 1904)
        let made: [UInt8] = u32(0) + u32(3_850_070_400)
        head += u16(0x000B) + u16(unitsPerEm) + made + made
        head += u16(0) + u16(0) + u16(advance) + u16(unitsPerEm)  // xMin yMin xMax yMax
        head += u16(0) + u16(8) + u16(2) + u16(0) + u16(0)  // macStyle lowestRecPPEM direction indexToLocFormat glyphDataFormat
        var hhea: [UInt8] = u32(0x0001_0000) + u16(unitsPerEm) + u16(0) + u16(0) + u16(advance)
        hhea += u16(0) + u16(0) + u16(advance) + u16(1) + u16(0) + u16(0) + [UInt8](repeating: 0, count: 8) + u16(0) + u16(glyphs)
        let maxp: [UInt8] = u32(0x0001_0000) + u16(glyphs) + [UInt8](repeating: 0, count: 26)
        let hmtx: [UInt8] = u16(advance) + u16(0) + u16(advance) + u16(0)
        let loca: [UInt8] = u16(0) + u16(0) + u16(0)  // both glyphs empty: no outline data at all
        let glyf: [UInt8] = []
        // cmap: one format 4 subtable (Windows Unicode) with only the final segment: no character maps to a glyph;
        // the PDF reaches the glyph through its CIDToGIDMap.
        let subtable: [UInt8] = u16(4) + u16(24) + u16(0) + u16(2) + u16(2) + u16(0) + u16(0)
            + u16(0xFFFF) + u16(0) + u16(0xFFFF) + u16(1) + u16(0)
        let cmap: [UInt8] = u16(0) + u16(1) + u16(3) + u16(1) + u32(12) + subtable
        let family = Array("GlyphLessFont".utf16).flatMap { u16(Int($0)) }
        let nameRecords: [(id: Int, bytes: [UInt8])] = [(1, family), (2, Array("Regular".utf16).flatMap { u16(Int($0)) }), (4, family), (6, family)]
        var name: [UInt8] = u16(0) + u16(nameRecords.count) + u16(6 + 12 * nameRecords.count)
        var strings: [UInt8] = []
        for record in nameRecords {
            name += u16(3) + u16(1) + u16(0x0409) + u16(record.id) + u16(record.bytes.count) + u16(strings.count)
            strings += record.bytes
        }
        name += strings
        let post: [UInt8] = u32(0x0003_0000) + [UInt8](repeating: 0, count: 28)
        var os2: [UInt8] = u16(4) + u16(advance) + u16(400) + u16(5) + u16(0)
        os2 += [UInt8](repeating: 0, count: 20) + u16(0) + [UInt8](repeating: 0, count: 10) + [UInt8](repeating: 0, count: 16)
        os2 += Array("NONE".utf8) + u16(0x0040) + u16(0) + u16(0xFFFF) + u16(unitsPerEm) + u16(0) + u16(0) + u16(unitsPerEm) + u16(0)
        os2 += u32(1) + u32(0) + u16(0) + u16(0) + u16(0) + u16(0) + u16(0)
        var tables: [(tag: String, data: [UInt8])] = [
            ("OS/2", os2), ("cmap", cmap), ("glyf", glyf), ("head", head), ("hhea", hhea), ("hmtx", hmtx), ("loca", loca),
            ("maxp", maxp), ("name", name), ("post", post),
        ]
        tables.sort { $0.tag < $1.tag }
        func checksum(_ data: [UInt8]) -> UInt32 {
            var padded = data
            while padded.count % 4 != 0 { padded.append(0) }
            var sum: UInt32 = 0
            for index in stride(from: 0, to: padded.count, by: 4) {
                sum &+= UInt32(padded[index]) << 24 | UInt32(padded[index + 1]) << 16 | UInt32(padded[index + 2]) << 8 | UInt32(padded[index + 3])
            }
            return sum
        }
        let count = tables.count
        var searchRange = 1, selector = 0
        while searchRange * 2 <= count { searchRange *= 2; selector += 1 }
        var font: [UInt8] = u32(0x0001_0000) + u16(count) + u16(searchRange * 16) + u16(selector) + u16(count * 16 - searchRange * 16)
        var offset = 12 + 16 * count
        var bodies: [UInt8] = []
        var headOffset = 0
        for table in tables {
            if table.tag == "head" { headOffset = offset }
            font += Array(table.tag.utf8) + u32(checksum(table.data)) + u32(UInt32(offset)) + u32(UInt32(table.data.count))
            var data = table.data
            while data.count % 4 != 0 { data.append(0) }
            bodies += data
            offset += data.count
        }
        font += bodies
        // head.checkSumAdjustment makes the whole font sum to 0xB1B0AFBA.
        let adjustment = 0xB1B0_AFBA &- checksum(font)
        font.replaceSubrange((headOffset + 8)..<(headOffset + 12), with: u32(adjustment))
        return font
    }()
}
