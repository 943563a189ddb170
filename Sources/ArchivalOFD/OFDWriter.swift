import ArchivalPDF
import Foundation

/// What an OFD document carries about its case, in `DocInfo/CustomDatas` and a custom tag file
/// (`urn:tongban:case`) the receiving archive can read without opening the pages.
public struct OFDCaseMetadata: Sendable, Equatable {
    /// The case the material belongs to (`SX2026112200017`).
    public var caseNumber: String
    /// The material's name as the clerk gave it (`营业执照`).
    public var materialName: String
    /// The counter that captured it, when known.
    public var counter: String?
    /// When the first page was captured.
    public var capturedAt: Date
    /// The document's own identifier (the attachment id, a UUID): its DocID, so two documents are never taken for
    /// one. Nil: derived from case, material and time.
    public var documentID: String?

    /// Metadata for one material of one case.
    public init(caseNumber: String, materialName: String, counter: String? = nil, capturedAt: Date, documentID: String? = nil) {
        self.caseNumber = caseNumber
        self.materialName = materialName
        self.counter = counter
        self.capturedAt = capturedAt
        self.documentID = documentID
    }
}

/// An OFD package the writer cannot make.
public struct OFDError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What could not be written, in words for the log.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// Writes an OFD document (GB/T 33190-2016, the format Chinese e-government and archives read) of page images, one
/// page at a time, without holding more than one page in memory.
///
/// Call `begin()` (nothing to write yet), then `page(_:)` for each page, then `finish(_:case:)`; each returns the
/// bytes to append to the file. The package is a ZIP of stored entries: `OFD.xml` (document info with the case
/// number in `CustomDatas`), `Doc_0/Document.xml`, its resources (the page images as they are: JPEG, or a CCITT G4
/// strip wrapped as a one-strip TIFF), one `Content.xml` per page — the image filling the page, and the recognised
/// text as invisible text objects (`Fill="false"`) over it — and custom tags with the case metadata.
/// Units are millimetres, the origin top left, as the standard has them.
public struct OFDWriter: Sendable {
    private var zip = StoredZipWriter()
    private var pages: [(id: Int, location: String)] = []
    private var media: [(id: Int, file: String, format: String)] = []
    private var nextID = 2
    /// The text layer's font (declared once, in PublicRes).
    private let fontID = 1
    private var firstPageBox: (width: Double, height: Double)?

    /// A writer with no pages yet.
    public init() {}

    /// Bytes written so far.
    public var size: Int { zip.size }

    private mutating func allocate() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    /// One page: its image file and its content description.
    public mutating func page(_ image: PDFPageImage) throws(OFDError) -> [UInt8] {
        guard image.pixelWidth > 0, image.pixelHeight > 0, image.dotsPerInch > 0 else {
            throw OFDError(message: "page of \(image.pixelWidth)×\(image.pixelHeight) at \(image.dotsPerInch) dpi cannot be laid out")
        }
        let index = pages.count
        let mediaID = allocate(), layerID = allocate(), imageID = allocate()
        let (file, format, bytes): (String, String, [UInt8])
        switch image.encoding {
        case .jpeg:
            (file, format, bytes) = ("image_\(mediaID).jpg", "JPEG", image.data)
        case .groupFour:
            (file, format, bytes) = ("image_\(mediaID).tif", "TIFF", Self.groupFourTIFF(image))
        }
        media.append((mediaID, file, format))
        let imageWidth = Double(image.pixelWidth) * 25.4 / image.dotsPerInch
        let imageHeight = Double(image.pixelHeight) * 25.4 / image.dotsPerInch
        let rotation = ((image.rotation % 360) + 360) % 360
        let turned = rotation == 90 || rotation == 270
        let (pageWidth, pageHeight) = turned ? (imageHeight, imageWidth) : (imageWidth, imageHeight)
        if firstPageBox == nil { firstPageBox = (pageWidth, pageHeight) }
        // The image is drawn into the unit square and placed by its CTM; the text by the same turn in millimetres.
        let (imageCTM, textCTM): (String, String)
        let w = Self.number(pageWidth), h = Self.number(pageHeight)
        switch rotation {
        case 90: (imageCTM, textCTM) = ("0 \(h) -\(w) 0 \(w) 0", "0 1 -1 0 \(w) 0")
        case 180: (imageCTM, textCTM) = ("-\(w) 0 0 -\(h) \(w) \(h)", "-1 0 0 -1 \(w) \(h)")
        case 270: (imageCTM, textCTM) = ("0 -\(h) \(w) 0 0 \(h)", "0 -1 1 0 0 \(h)")
        default: (imageCTM, textCTM) = ("\(w) 0 0 \(h) 0 0", "")
        }
        let box = "0 0 \(w) \(h)"
        var content = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:Page xmlns:ofd="\(Self.namespace)"><ofd:Area><ofd:PhysicalBox>\(box)</ofd:PhysicalBox></ofd:Area>\
            <ofd:Content><ofd:Layer ID="\(layerID)">\
            <ofd:ImageObject ID="\(imageID)" Boundary="\(box)" CTM="\(imageCTM)" ResourceID="\(mediaID)"/>
            """
        let millimetresPerPixel = 25.4 / image.dotsPerInch
        for line in image.textLines {
            // Characters XML cannot carry are dropped before counting, so each advance belongs to one character shown.
            let text = XMLText.allowed(line.text)
            let characters = text.unicodeScalars.count
            guard characters > 0, line.width > 0, line.height > 0 else { continue }
            let textID = allocate()
            let size = Double(line.height) * millimetresPerPixel
            let left = Double(line.x) * millimetresPerPixel
            let baseline = Double(line.y + line.height) * millimetresPerPixel - size * 0.15
            let advance = Double(line.width) * millimetresPerPixel / Double(characters)
            let deltas = characters > 1 ? " DeltaX=\"g \(characters - 1) \(Self.number(advance))\"" : ""
            content += "<ofd:TextObject ID=\"\(textID)\" Boundary=\"\(box)\"" + (textCTM.isEmpty ? "" : " CTM=\"\(textCTM)\"")
                + " Font=\"\(fontID)\" Size=\"\(Self.number(size))\" Fill=\"false\">"
                + "<ofd:TextCode X=\"\(Self.number(left))\" Y=\"\(Self.number(baseline))\"\(deltas)>\(XMLText.escaped(text))</ofd:TextCode></ofd:TextObject>"
        }
        content += "</ofd:Layer></ofd:Content></ofd:Page>\n"
        let pageID = allocate()
        let location = "Pages/Page_\(index)/Content.xml"
        pages.append((pageID, location))
        let imagePart = try zip.entry("Doc_0/Res/\(file)", bytes)
        return imagePart + (try zip.entry("Doc_0/\(location)", Array(content.utf8)))
    }

    /// The document's description, resources, custom tags and the package's directory.
    public mutating func finish(_ info: PDFDocumentInfo, case metadata: OFDCaseMetadata) throws(OFDError) -> [UInt8] {
        let ns = Self.namespace
        let box = firstPageBox.map { "0 0 \(Self.number($0.width)) \(Self.number($0.height))" } ?? "0 0 210 297"
        let date = Self.day(info.created, info.timeZone)
        var out: [UInt8] = []
        let publicRes = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:Res xmlns:ofd="\(ns)" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="\(fontID)" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>

            """
        let multimedia = media.map {
            "<ofd:MultiMedia ID=\"\($0.id)\" Type=\"Image\" Format=\"\($0.format)\"><ofd:MediaFile>\($0.file)</ofd:MediaFile></ofd:MultiMedia>"
        }.joined()
        let documentRes = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:Res xmlns:ofd="\(ns)" BaseLoc="Res"><ofd:MultiMedias>\(multimedia)</ofd:MultiMedias></ofd:Res>

            """
        let tagFile = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Case xmlns="urn:tongban:case"><CaseNumber>\(XMLText.escaped(metadata.caseNumber))</CaseNumber>\
            <MaterialName>\(XMLText.escaped(metadata.materialName))</MaterialName>\
            \(metadata.counter.map { "<Counter>\(XMLText.escaped($0))</Counter>" } ?? "")\
            <CapturedAt>\(Self.timestamp(metadata.capturedAt, info.timeZone))</CapturedAt></Case>

            """
        let customTags = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:CustomTags xmlns:ofd="\(ns)"><ofd:CustomTag NameSpace="urn:tongban:case"><ofd:FileLoc>Tags/Case.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>

            """
        let pageList = pages.map { "<ofd:Page ID=\"\($0.id)\" BaseLoc=\"\($0.location)\"/>" }.joined()
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:Document xmlns:ofd="\(ns)"><ofd:CommonData><ofd:MaxUnitID>\(nextID - 1)</ofd:MaxUnitID>\
            <ofd:PageArea><ofd:PhysicalBox>\(box)</ofd:PhysicalBox></ofd:PageArea>\
            <ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>\
            <ofd:Pages>\(pageList)</ofd:Pages><ofd:CustomTags>CustomTags.xml</ofd:CustomTags></ofd:Document>

            """
        var customData = "<ofd:CustomData Name=\"caseNumber\">\(XMLText.escaped(metadata.caseNumber))</ofd:CustomData>"
            + "<ofd:CustomData Name=\"materialName\">\(XMLText.escaped(metadata.materialName))</ofd:CustomData>"
        if let counter = metadata.counter { customData += "<ofd:CustomData Name=\"counter\">\(XMLText.escaped(counter))</ofd:CustomData>" }
        let root = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:OFD xmlns:ofd="\(ns)" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>\
            <ofd:DocID>\(Self.documentID(info, metadata))</ofd:DocID><ofd:Title>\(XMLText.escaped(info.title))</ofd:Title>\
            <ofd:Subject>\(XMLText.escaped(info.subject))</ofd:Subject><ofd:CreationDate>\(date)</ofd:CreationDate>\
            <ofd:Keywords><ofd:Keyword>\(XMLText.escaped(info.keywords))</ofd:Keyword></ofd:Keywords>\
            <ofd:Creator>\(XMLText.escaped(info.creator))</ofd:Creator>\
            <ofd:CustomDatas>\(customData)</ofd:CustomDatas></ofd:DocInfo>\
            <ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>

            """
        out += try zip.entry("Doc_0/PublicRes.xml", Array(publicRes.utf8))
        out += try zip.entry("Doc_0/DocumentRes.xml", Array(documentRes.utf8))
        out += try zip.entry("Doc_0/Tags/Case.xml", Array(tagFile.utf8))
        out += try zip.entry("Doc_0/CustomTags.xml", Array(customTags.utf8))
        out += try zip.entry("Doc_0/Document.xml", Array(document.utf8))
        out += try zip.entry("OFD.xml", Array(root.utf8))
        out += zip.finish()
        return out
    }

    // MARK: Helpers

    static let namespace = "http://www.ofdspec.org/2016"

    /// A CCITT G4 strip (K = -1, white runs first) as a one-strip little-endian TIFF, for OFD's image formats.
    static func groupFourTIFF(_ image: PDFPageImage) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] { StoredZipWriter.u16(value) }
        func u32(_ value: Int) -> [UInt8] { StoredZipWriter.u32(UInt32(truncatingIfNeeded: value)) }
        let entries: [(tag: Int, type: Int, value: Int)] = [
            (256, 4, image.pixelWidth), (257, 4, image.pixelHeight), (258, 3, 1), (259, 3, 4), (262, 3, 0),
            (273, 4, 0 /* data offset, set below */), (277, 3, 1), (278, 4, image.pixelHeight), (279, 4, image.data.count),
            (282, 5, 0 /* resolution, rational */), (283, 5, 0), (293, 4, 0), (296, 3, 2),
        ]
        let directorySize = 2 + entries.count * 12 + 4
        let rationalOffset = 8 + directorySize
        let dataOffset = rationalOffset + 8
        var out: [UInt8] = Array("II".utf8) + u16(42) + u32(8) + u16(entries.count)
        for entry in entries {
            var value = entry.value
            if entry.tag == 273 { value = dataOffset }
            if entry.tag == 282 || entry.tag == 283 { value = rationalOffset }
            out += u16(entry.tag) + u16(entry.type) + u32(1)
            out += entry.type == 3 ? u16(value) + u16(0) : u32(value)
        }
        out += u32(0)
        out += u32(Int(image.dotsPerInch.rounded())) + u32(1)
        out += image.data
        return out
    }

    /// The document's identifier, 32 hex digits as the standard's DocID is: the given one (a UUID without its
    /// hyphens), else derived from case, material and time.
    static func documentID(_ info: PDFDocumentInfo, _ metadata: OFDCaseMetadata) -> String {
        if let given = metadata.documentID {
            let hex = given.lowercased().filter(\.isHexDigit)
            if hex.count == 32 { return hex }
        }
        var high: UInt64 = 0xcbf2_9ce4_8422_2325, low: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in "\(metadata.caseNumber)\u{0}\(metadata.materialName)\u{0}\(info.created.timeIntervalSince1970)".utf8 {
            high = (high ^ UInt64(byte)) &* 0x100_0000_01b3
            low = (low ^ UInt64(byte ^ 0x5A)) &* 0x100_0000_01b3
        }
        return String(format: "%016llx%016llx", high, low)
    }

    static func number(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    static func day(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    static func timestamp(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        return formatter.string(from: date)
    }
}
