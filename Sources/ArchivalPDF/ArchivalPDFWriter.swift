import Foundation

/// One page's image, embedded as it is: a JPEG as `DCTDecode`, a CCITT G4 strip as `CCITTFaxDecode`.
public struct PDFPageImage: Sendable {
    public enum Encoding: Sendable, Equatable {
        /// Baseline JPEG; `components` is 1 (grey) or 3 (RGB).
        case jpeg(components: Int)
        /// CCITT Group 4 (K = -1), black = 0 after decoding.
        case groupFour
    }

    public var encoding: Encoding
    public var data: [UInt8]
    public var pixelWidth: Int
    public var pixelHeight: Int
    /// The resolution the page was scanned at: the page size is pixels / dpi inches.
    public var dotsPerInch: Double
    /// Clockwise display rotation, a multiple of 90 (the image itself is not touched).
    public var rotation: Int
    /// Recognised text laid invisibly over the image (empty: a picture only).
    public var textLines: [PDFTextLine]

    public init(encoding: Encoding, data: [UInt8], pixelWidth: Int, pixelHeight: Int, dotsPerInch: Double, rotation: Int = 0,
                textLines: [PDFTextLine] = []) {
        self.encoding = encoding
        self.data = data
        self.pixelWidth = pixelWidth
        self.pixelHeight = pixelHeight
        self.dotsPerInch = dotsPerInch
        self.rotation = rotation
        self.textLines = textLines
    }
}

/// What the document says about itself, in the Info dictionary and the XMP packet alike (PDF/A wants both to agree).
public struct PDFDocumentInfo: Sendable {
    /// The material's name, e.g. 营业执照.
    public var title: String
    /// e.g. 受理编号 2026-000123.
    public var subject: String
    /// The case number, for full-text search in the archive.
    public var keywords: String
    public var creator: String
    public var producer: String
    public var created: Date
    /// The time zone dates are written in (the counter's).
    public var timeZone: TimeZone

    public init(title: String, subject: String, keywords: String, creator: String = "Tongban",
                producer: String = "Tongban ArchivalPDF", created: Date, timeZone: TimeZone = .current) {
        self.title = title
        self.subject = subject
        self.keywords = keywords
        self.creator = creator
        self.producer = producer
        self.created = created
        self.timeZone = timeZone
    }
}

/// Writes a PDF/A-2b document of scanned pages, one page at a time, without holding more than one page in memory.
///
/// Call `begin()`, then `page(_:)` for each page, then `finish(_:)`; each returns the bytes to append to the file.
/// Images are embedded unchanged; a page's recognised text lies invisibly over its image (see `TextLayerFont`), so
/// the document can be searched and `pdftotext` reads it. The document carries XMP metadata (`pdfaid:part 2`, `conformance B`), an sRGB
/// output intent with the ICC profile `SRGBProfile` builds, an Info dictionary matching the XMP, and a file ID.
public struct ArchivalPDFWriter: Sendable {
    private var offsets: [Int: Int] = [:]
    private var written = 0
    private var pageObjects: [Int] = []
    private var nextObject = 7
    private var digest = FNV()
    private var textFont = TextLayerFont()
    /// The text layer's Type0 font, allocated when the first page with text is written.
    private var textFontObject: Int?

    // Fixed objects.
    private let catalogObject = 1, pagesObject = 2, metadataObject = 3, outputIntentObject = 4, profileObject = 5, infoObject = 6

    public init() {}

    /// The header.
    public mutating func begin() -> [UInt8] {
        // The second line's bytes above 127 mark the file as binary, as PDF/A requires.
        emit(Array("%PDF-1.7\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A])
    }

    /// One page: its image, its content stream and the page object.
    public mutating func page(_ image: PDFPageImage) -> [UInt8] {
        let imageObject = allocate(), contentObject = allocate(), pageObject = allocate()
        pageObjects.append(pageObject)
        let widthPoints = Double(image.pixelWidth) * 72 / image.dotsPerInch
        let heightPoints = Double(image.pixelHeight) * 72 / image.dotsPerInch
        var out: [UInt8] = []
        let dictionary: String
        switch image.encoding {
        case .jpeg(let components):
            dictionary = "/Type /XObject /Subtype /Image /Width \(image.pixelWidth) /Height \(image.pixelHeight) "
                + "/ColorSpace \(components == 1 ? "/DeviceGray" : "/DeviceRGB") /BitsPerComponent 8 /Filter /DCTDecode"
        case .groupFour:
            dictionary = "/Type /XObject /Subtype /Image /Width \(image.pixelWidth) /Height \(image.pixelHeight) "
                + "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode "
                + "/DecodeParms << /K -1 /Columns \(image.pixelWidth) /Rows \(image.pixelHeight) >>"
        }
        out += stream(imageObject, dictionary: dictionary, data: image.data)
        var content = "q \(Self.number(widthPoints)) 0 0 \(Self.number(heightPoints)) 0 0 cm /Im0 Do Q\n"
        var fontResource = ""
        if !image.textLines.isEmpty {
            let text = textFont.contentOperators(image.textLines, pageHeightPixels: image.pixelHeight, scale: 72 / image.dotsPerInch)
            if !text.isEmpty {
                let font = textFontObject ?? allocate()
                textFontObject = font
                content += text
                fontResource = " /Font << /TL0 \(font) 0 R >>"
            }
        }
        out += stream(contentObject, dictionary: "", data: Array(content.utf8))
        let rotation = ((image.rotation % 360) + 360) % 360
        out += object(pageObject, "<< /Type /Page /Parent \(pagesObject) 0 R /MediaBox [0 0 \(Self.number(widthPoints)) \(Self.number(heightPoints))] "
            + "/Resources << /XObject << /Im0 \(imageObject) 0 R >>\(fontResource) >> /Contents \(contentObject) 0 R"
            + (rotation == 0 ? "" : " /Rotate \(rotation)") + " >>")
        return out
    }

    /// The document-level objects, cross-reference table and trailer.
    public mutating func finish(_ info: PDFDocumentInfo) -> [UInt8] {
        var out: [UInt8] = []
        let kids = pageObjects.map { "\($0) 0 R" }.joined(separator: " ")
        out += object(pagesObject, "<< /Type /Pages /Kids [\(kids)] /Count \(pageObjects.count) >>")
        if let font = textFontObject { out += textFontObjects(font) }
        out += stream(metadataObject, dictionary: "/Type /Metadata /Subtype /XML", data: Array(Self.xmp(info).utf8))
        let profile = SRGBProfile.bytes
        out += stream(profileObject, dictionary: "/N 3", data: profile)
        out += object(outputIntentObject, "<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) "
            + "/Info (sRGB IEC61966-2.1) /DestOutputProfile \(profileObject) 0 R >>")
        let date = Self.pdfDate(info.created, info.timeZone)
        out += object(infoObject, "<< /Title \(Self.text(info.title)) /Subject \(Self.text(info.subject)) "
            + "/Keywords \(Self.text(info.keywords)) /Creator \(Self.text(info.creator)) /Producer \(Self.text(info.producer)) "
            + "/CreationDate (\(date)) /ModDate (\(date)) >>")
        out += object(catalogObject, "<< /Type /Catalog /Pages \(pagesObject) 0 R /Metadata \(metadataObject) 0 R "
            + "/OutputIntents [\(outputIntentObject) 0 R] >>")
        let crossReference = written
        var table = "xref\n0 \(nextObject)\n0000000000 65535 f \n"
        for number in 1..<nextObject {
            table += String(format: "%010d 00000 n \n", offsets[number] ?? 0)
        }
        let identifier = digest.hex
        table += "trailer\n<< /Size \(nextObject) /Root \(catalogObject) 0 R /Info \(infoObject) 0 R /ID [<\(identifier)> <\(identifier)>] >>\n"
        table += "startxref\n\(crossReference)\n%%EOF\n"
        out += emit(Array(table.utf8))
        return out
    }

    /// The text layer's font: Type0 → CIDFontType2 with its descriptor, embedded program, CIDToGIDMap and
    /// ToUnicode map.
    private mutating func textFontObjects(_ font: Int) -> [UInt8] {
        let descendant = allocate(), descriptor = allocate(), program = allocate(), glyphMap = allocate(), toUnicode = allocate()
        var out: [UInt8] = []
        out += object(font, "<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H "
            + "/DescendantFonts [\(descendant) 0 R] /ToUnicode \(toUnicode) 0 R >>")
        out += object(descendant, "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont "
            + "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor \(descriptor) 0 R "
            + "/DW \(TextLayerFont.advance) /CIDToGIDMap \(glyphMap) 0 R >>")
        out += object(descriptor, "<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 0 \(TextLayerFont.advance) 1000] "
            + "/ItalicAngle 0 /Ascent 1000 /Descent 0 /CapHeight 1000 /StemV 80 /FontFile2 \(program) 0 R >>")
        let fontProgram = TextLayerFont.program
        out += stream(program, dictionary: "/Length1 \(fontProgram.count)", data: fontProgram)
        out += stream(glyphMap, dictionary: "", data: textFont.cidToGlyphMap)
        out += stream(toUnicode, dictionary: "", data: Array(textFont.toUnicode.utf8))
        return out
    }

    // MARK: Objects

    private mutating func allocate() -> Int {
        defer { nextObject += 1 }
        return nextObject
    }

    private mutating func object(_ number: Int, _ body: String) -> [UInt8] {
        offsets[number] = written
        return emit(Array("\(number) 0 obj\n\(body)\nendobj\n".utf8))
    }

    private mutating func stream(_ number: Int, dictionary: String, data: [UInt8]) -> [UInt8] {
        offsets[number] = written
        let head = Array("\(number) 0 obj\n<< \(dictionary)\(dictionary.isEmpty ? "" : " ")/Length \(data.count) >>\nstream\n".utf8)
        return emit(head) + emit(data) + emit(Array("\nendstream\nendobj\n".utf8))
    }

    private mutating func emit(_ bytes: [UInt8]) -> [UInt8] {
        written += bytes.count
        digest.add(bytes.prefix(4096))
        return bytes
    }

    // MARK: Text

    static func number(_ value: Double) -> String {
        String(format: "%.2f", value)
    }

    /// A PDF text string: literal for ASCII, UTF-16BE with a byte-order mark (hex) otherwise.
    static func text(_ value: String) -> String {
        if value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) {
            var escaped = ""
            for character in value {
                if character == "(" || character == ")" || character == "\\" { escaped.append("\\") }
                escaped.append(character)
            }
            return "(\(escaped))"
        }
        return "<FEFF" + value.utf16.map { String(format: "%04X", $0) }.joined() + ">"
    }

    static func pdfDate(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyyMMddHHmmss"
        let offset = zone.secondsFromGMT(for: date)
        let sign = offset < 0 ? "-" : "+"
        return "D:" + formatter.string(from: date) + String(format: "%@%02d'%02d'", sign, abs(offset) / 3600, abs(offset) % 3600 / 60)
    }

    static func xmpDate(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }


    static func xmp(_ info: PDFDocumentInfo) -> String {
        let date = xmpDate(info.created, info.timeZone)
        return """
            <?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>
            <x:xmpmeta xmlns:x="adobe:ns:meta/">
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
            <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
            <dc:format>application/pdf</dc:format>
            <dc:title><rdf:Alt><rdf:li xml:lang="x-default">\(XMLText.escaped(info.title))</rdf:li></rdf:Alt></dc:title>
            <dc:description><rdf:Alt><rdf:li xml:lang="x-default">\(XMLText.escaped(info.subject))</rdf:li></rdf:Alt></dc:description>
            <pdf:Keywords>\(XMLText.escaped(info.keywords))</pdf:Keywords>
            <pdf:Producer>\(XMLText.escaped(info.producer))</pdf:Producer>
            <xmp:CreatorTool>\(XMLText.escaped(info.creator))</xmp:CreatorTool>
            <xmp:CreateDate>\(date)</xmp:CreateDate>
            <xmp:ModifyDate>\(date)</xmp:ModifyDate>
            <xmp:MetadataDate>\(date)</xmp:MetadataDate>
            <pdfaid:part>2</pdfaid:part>
            <pdfaid:conformance>B</pdfaid:conformance>
            </rdf:Description>
            </rdf:RDF>
            </x:xmpmeta>
            <?xpacket end="w"?>
            """
    }
}

/// FNV-1a over the document's leading bytes: a deterministic file identifier (same pages and info → same ID).
struct FNV: Sendable {
    private var high: UInt64 = 0xcbf29ce484222325
    private var low: UInt64 = 0x84222325cbf29ce4

    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            high = (high ^ UInt64(byte)) &* 0x100000001b3
            low = (low ^ UInt64(byte ^ 0x5A)) &* 0x100000001b3
        }
    }

    var hex: String { String(format: "%016llx%016llx", high, low) }
}
