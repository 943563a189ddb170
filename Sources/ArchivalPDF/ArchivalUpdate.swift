import Foundation

/// A PDF that cannot be made archival here: not a PDF, or not laid out as this update expects.
public struct ArchivalUpdateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was looked for and not found, e.g. `startxref`, `the catalog object`.
    public var missing: String
    public var description: String { "cannot make the PDF archival: \(missing) not found" }
}

/// Makes a PDF another library wrote — cairo's forms and ID-card copies — a PDF/A-2b document, by an incremental
/// update (ISO 32000 §7.5.6, allowed by ISO 19005-2): the original bytes stay as they are; appended are the XMP
/// packet, the sRGB output intent, an Info dictionary that agrees with the XMP, a catalog that names both, and a
/// trailer with the file identifier PDF/A requires. The fonts, pictures and transparency are the writer's: cairo
/// embeds its fonts and, with the sRGB output intent, its device colours are defined. One thing cairo leaves implicit
/// is made explicit: a TrueType CID font's `/CIDToGIDMap /Identity` (PDF/A-2 §6.2.11.3.2 wants it written).
///
/// Handles a classic cross-reference table (what cairo writes up to PDF 1.5 without object streams); anything
/// else is an `ArchivalUpdateError`, never a document that only looks archival.
public enum ArchivalUpdate {
    public static func archival(_ pdf: [UInt8], info: PDFDocumentInfo) throws(ArchivalUpdateError) -> [UInt8] {
        let data = Data(pdf)
        guard pdf.starts(with: Array("%PDF-1.".utf8)) else { throw ArchivalUpdateError(missing: "the %PDF-1.n header") }
        // The last cross-reference section: `startxref` near the end, then its offset.
        let tail = data.suffix(1024)
        guard let startxref = tail.range(of: Data("startxref".utf8), options: .backwards),
              let previous = Int(String(decoding: data[startxref.upperBound...].prefix(32), as: UTF8.self)
                .split(whereSeparator: \.isWhitespace).first ?? ""),
              previous >= 0, previous < pdf.count, data[previous...].starts(with: Array("xref".utf8)) else {
            throw ArchivalUpdateError(missing: "a classic cross-reference table at startxref")
        }
        guard let trailerKeyword = data.range(of: Data("trailer".utf8), in: previous..<data.endIndex),
              let trailer = dictionary(in: data, from: trailerKeyword.upperBound) else {
            throw ArchivalUpdateError(missing: "the trailer dictionary")
        }
        guard let size = integer(after: "/Size", in: trailer), size > 0, size < 10_000_000,
              let root = reference(after: "/Root", in: trailer) else {
            throw ArchivalUpdateError(missing: "the trailer's /Size and /Root")
        }
        // An encrypted file, or a hybrid one with a cross-reference stream beside its table, is not what this reads.
        guard !trailer.contains("/Encrypt"), !trailer.contains("/XRefStm") else {
            throw ArchivalUpdateError(missing: "a plain, unencrypted file (its trailer has /Encrypt or /XRefStm)")
        }
        let objects = objectOffsets(in: data, tableAt: previous)
        guard let rootEntry = objects[root.number], let catalog = objectDictionary(in: data, at: rootEntry.offset, number: root.number),
              catalog.contains("/Catalog") else {
            throw ArchivalUpdateError(missing: "the catalog object \(root.number)")
        }
        // TrueType CID fonts without their (default, Identity) CIDToGIDMap written out.
        var fonts: [(number: Int, generation: Int, dictionary: String)] = []
        for (number, entry) in objects.sorted(by: { $0.key < $1.key }) {
            guard let body = objectDictionary(in: data, at: entry.offset, number: number), body.contains("/CIDFontType2"),
                  !body.contains("/CIDToGIDMap"), isPlainObject(data, at: entry.offset, dictionary: body) else { continue }
            fonts.append((number, entry.generation, body))
        }

        // The catalog as it was, without what this update sets.
        let kept = removing(["/Metadata", "/OutputIntents"], from: String(catalog.dropFirst(2).dropLast(2)))
        let metadata = size, profile = size + 1, intent = size + 2, infoObject = size + 3
        var out = pdf
        if out.last != 0x0A { out.append(0x0A) }
        var offsets: [Int: Int] = [:]
        func object(_ number: Int, generation: Int = 0, _ body: [UInt8]) {
            offsets[number] = out.count
            out += Array("\(number) \(generation) obj\n".utf8) + body + Array("\nendobj\n".utf8)
        }
        func stream(_ dictionary: String, _ bytes: [UInt8]) -> [UInt8] {
            Array("<< \(dictionary) /Length \(bytes.count) >>\nstream\n".utf8) + bytes + Array("\nendstream".utf8)
        }
        object(metadata, stream("/Type /Metadata /Subtype /XML", Array(ArchivalPDFWriter.xmp(info).utf8)))
        object(profile, stream("/N 3", SRGBProfile.bytes))
        object(intent, Array(("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) "
            + "/Info (sRGB IEC61966-2.1) /DestOutputProfile \(profile) 0 R >>").utf8))
        let date = ArchivalPDFWriter.pdfDate(info.created, info.timeZone)
        object(infoObject, Array(("<< /Title \(ArchivalPDFWriter.text(info.title)) /Subject \(ArchivalPDFWriter.text(info.subject)) "
            + "/Keywords \(ArchivalPDFWriter.text(info.keywords)) /Creator \(ArchivalPDFWriter.text(info.creator)) "
            + "/Producer \(ArchivalPDFWriter.text(info.producer)) /CreationDate (\(date)) /ModDate (\(date)) >>").utf8))
        object(root.number, generation: root.generation,
               Array("<< \(kept) /Metadata \(metadata) 0 R /OutputIntents [\(intent) 0 R] >>".utf8))
        for font in fonts {
            object(font.number, generation: font.generation, Array("<< \(font.dictionary.dropFirst(2).dropLast(2)) /CIDToGIDMap /Identity >>".utf8))
        }

        let crossReference = out.count
        // One subsection per object, in ascending order.
        let generations = Dictionary(uniqueKeysWithValues: [(root.number, root.generation)] + fonts.map { ($0.number, $0.generation) })
        var table = "xref\n0 1\n0000000000 65535 f \n"
        for (number, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            table += "\(number) 1\n" + String(format: "%010d %05d n \n", offset, generations[number] ?? 0)
        }
        var identity = FNV()
        identity.add(pdf.prefix(4096))
        identity.add(pdf.suffix(4096))
        identity.add(Array(ArchivalPDFWriter.xmp(info).utf8))
        let identifier = identity.hex
        table += "trailer\n<< /Size \(infoObject + 1) /Root \(root.number) \(root.generation) R /Info \(infoObject) 0 R "
            + "/Prev \(previous) /ID [<\(identifier)> <\(identifier)>] >>\nstartxref\n\(crossReference)\n%%EOF\n"
        out += Array(table.utf8)
        return out
    }

    // MARK: Reading

    /// The dictionary of object `number` at `offset`: the object's header (`number generation obj`) must be there and
    /// be followed by `<<` — a number object (cairo's stream lengths) has no dictionary of its own.
    static func objectDictionary(in data: Data, at offset: Int, number: Int) -> String? {
        guard offset >= 0, offset < data.endIndex else { return nil }
        let head = String(decoding: data[offset..<min(data.endIndex, offset + 40)], as: UTF8.self)
        guard let match = head.range(of: #"^\s*\#(number)\s+\d+\s+obj\s*<<"#, options: .regularExpression) else { return nil }
        let open = offset + head[..<match.upperBound].utf8.count - 2
        return dictionary(in: data, from: open)
    }

    /// The dictionary (`<< … >>`, nested ones included) that starts at or after `start`, as text; nil when it is not
    /// 7-bit ASCII (a text string in another encoding would not survive being rewritten as text). Literal strings
    /// `(…)` (escapes, nested brackets) and hex strings `<…>` are stepped over, so brackets inside them do not count.
    static func dictionary(in data: Data, from start: Int) -> String? {
        guard start >= 0, start < data.endIndex,
              let open = data.range(of: Data("<<".utf8), in: start..<min(data.endIndex, start + 4096)) else { return nil }
        var depth = 0, index = open.lowerBound
        while index + 1 < data.endIndex {
            let byte = data[index], next = data[index + 1]
            guard byte < 0x80, byte != 0x25 /* % comment */ else { return nil }
            if byte == 0x3C && next == 0x3C { depth += 1; index += 2; continue }
            if byte == 0x3E && next == 0x3E {
                depth -= 1
                index += 2
                if depth == 0 { return String(decoding: data[open.lowerBound..<index], as: UTF8.self) }
                continue
            }
            if byte == 0x3C {  // <hex>
                guard let close = data[index...].firstIndex(of: 0x3E) else { return nil }
                index = close + 1
                continue
            }
            if byte == 0x28 {  // (literal), with \-escapes and balanced brackets
                var nesting = 0
                while index < data.endIndex {
                    let character = data[index]
                    guard character < 0x80 else { return nil }
                    if character == 0x5C { index += 2; continue }
                    if character == 0x28 { nesting += 1 }
                    if character == 0x29 { nesting -= 1; if nesting == 0 { break } }
                    index += 1
                }
                index += 1
                continue
            }
            index += 1
        }
        return nil
    }

    static func integer(after key: String, in dictionary: String) -> Int? {
        guard let range = dictionary.range(of: key) else { return nil }
        return Int(dictionary[range.upperBound...].split(whereSeparator: { $0.isWhitespace || $0 == "/" || $0 == ">" }).first ?? "")
    }

    static func reference(after key: String, in dictionary: String) -> (number: Int, generation: Int)? {
        guard let range = dictionary.range(of: key) else { return nil }
        let parts = dictionary[range.upperBound...].split(whereSeparator: \.isWhitespace).prefix(3)
        guard parts.count == 3, parts.last?.hasPrefix("R") == true, let number = Int(parts[parts.startIndex]),
              let generation = Int(parts[parts.startIndex + 1]) else { return nil }
        return (number, generation)
    }

    /// Every object in use, with its byte offset and generation, from the classic cross-reference table at
    /// `tableOffset` and the older ones its trailer's /Prev chains to (a newer entry wins).
    static func objectOffsets(in data: Data, tableAt tableOffset: Int) -> [Int: (offset: Int, generation: Int)] {
        var objects: [Int: (offset: Int, generation: Int)] = [:]
        var table: Int? = tableOffset
        var visited: Set<Int> = []
        while let start = table, start >= 0, start < data.endIndex, visited.insert(start).inserted,
              data[start...].starts(with: Array("xref".utf8)) {
            table = nil
            var position = start + 4
            while position < data.endIndex {
                // A subsection header `first count`, then `count` entries of 20 bytes; or the trailer.
                guard let lineEnd = data[position...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) else { break }
                let header = String(decoding: data[position..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                if header.isEmpty { position = lineEnd + 1; continue }
                if header.hasPrefix("trailer") {
                    table = dictionary(in: data, from: position).flatMap { integer(after: "/Prev", in: $0) }
                    break
                }
                let fields = header.split(separator: " ").compactMap { Int($0) }
                guard fields.count == 2, fields[0] >= 0, fields[1] >= 0, fields[1] <= (data.endIndex - position) / 20 + 1 else { break }
                var entry = lineEnd
                while entry < data.endIndex && (data[entry] == 0x0A || data[entry] == 0x0D) { entry += 1 }
                for index in 0..<fields[1] {
                    let at = entry + index * 20
                    guard at + 18 <= data.endIndex else { break }
                    let line = String(decoding: data[at..<(at + 18)], as: UTF8.self).split(separator: " ")
                    guard line.count == 3, line[2] == "n", let offset = Int(line[0]), let generation = Int(line[1]),
                          offset >= 0, offset < data.endIndex else { continue }
                    if objects[fields[0] + index] == nil { objects[fields[0] + index] = (offset, generation) }
                }
                position = entry + fields[1] * 20
            }
        }
        return objects
    }

    /// Whether the object at `offset` is `dictionary` alone — not a stream's dictionary (a stream cannot be
    /// rewritten by its dictionary).
    static func isPlainObject(_ data: Data, at offset: Int, dictionary: String) -> Bool {
        guard offset >= 0, offset < data.endIndex,
              let open = data.range(of: Data("<<".utf8), in: offset..<min(data.endIndex, offset + 4096)) else { return false }
        let after = open.lowerBound + dictionary.utf8.count
        let rest = String(decoding: data[after..<min(data.endIndex, after + 32)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return rest.hasPrefix("endobj")
    }

    /// `dictionary`'s entries without `keys` (each key and its value: a name, number, reference or array).
    static func removing(_ keys: [String], from dictionary: String) -> String {
        var text = dictionary
        for key in keys {
            guard let range = text.range(of: key + " ") ?? text.range(of: key + "[") ?? text.range(of: key + "\n") else { continue }
            var end = range.upperBound
            if text[range].hasSuffix("[") || text[end...].first == "[" {
                end = text[end...].firstIndex(of: "]").map { text.index(after: $0) } ?? text.endIndex
            } else {
                // A reference `n g R` or a single token.
                let rest = text[end...]
                if let r = rest.range(of: #"^\s*\d+\s+\d+\s+R"#, options: .regularExpression) { end = r.upperBound }
                else if let token = rest.range(of: #"^\s*\S+"#, options: .regularExpression) { end = token.upperBound }
            }
            text.removeSubrange(range.lowerBound..<end)
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
