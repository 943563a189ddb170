import Foundation
import GRDB
import TongbanCore

/// A QR code or barcode found on an attachment's page: the case number printed on a form, a separator sheet.
public struct AttachmentBarcode: Codable, Sendable, Equatable, Hashable {
    /// zbar's symbology name: `QR-Code`, `CODE-128`, …
    public var type: String
    /// The decoded text.
    public var text: String
    /// The page it is on, from 1 (nil for a single picture).
    public var page: Int?

    /// A barcode of an attachment.
    public init(type: String, text: String, page: Int? = nil) {
        self.type = type
        self.text = text
        self.page = page
    }
}

extension Store {
    /// Recognised text: the lines of each scanned page (for the PDF's text layer), the text of each attachment (for
    /// `GET /v1/attachments/{id}/text` and search within a case), and the barcodes found on its pages.
    static func registerTextMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-text") { db in
            // JSON: the page's recognised lines with their boxes, and the barcodes on it.
            try db.execute(sql: "ALTER TABLE scanPage ADD COLUMN textLines TEXT")
            try db.execute(sql: "ALTER TABLE scanPage ADD COLUMN barcodes TEXT")
            // JSON list of AttachmentBarcode, also in the manifest.
            try db.execute(sql: "ALTER TABLE attachment ADD COLUMN barcodes TEXT")
            // JSON list: every attachment a batch was finished into (separator sheets split a batch).
            try db.execute(sql: "ALTER TABLE scan ADD COLUMN attachmentIds TEXT")
            try db.create(table: "attachmentText") { t in
                t.primaryKey("attachmentId", .text).references("attachment", onDelete: .cascade)
                t.column("caseNumber", .text).notNull()
                t.column("text", .text).notNull()
            }
            try db.create(index: "attachmentText_case", on: "attachmentText", columns: ["caseNumber"])
        }
    }

    /// An attachment's recognised text; nil when none was recognised (or it was purged).
    public func attachmentText(id: String) throws(StoreError) -> String? {
        do {
            return try database.read { db in
                try String.fetchOne(db, sql: """
                    SELECT attachmentText.text FROM attachmentText JOIN attachment ON attachment.id = attachmentText.attachmentId
                    WHERE attachmentId = ? AND attachment.purgedAt IS NULL
                    """, arguments: [id])
            }
        } catch { throw .database("read text of attachment \(id)", "\(error)") }
    }

    /// The ids of a case's attachments whose recognised text contains `phrase` (white space ignored on both sides:
    /// Chinese text comes with spaces where the recogniser saw gaps).
    public func attachmentIDs(caseNumber: String, textContaining phrase: String) throws(StoreError) -> Set<String> {
        let wanted = Self.withoutWhiteSpace(phrase)
        guard !wanted.isEmpty else { return [] }
        do {
            return try database.read { db in
                var ids: Set<String> = []
                let rows = try Row.fetchAll(db, sql: "SELECT attachmentId, text FROM attachmentText WHERE caseNumber = ?", arguments: [caseNumber])
                for row in rows where Self.withoutWhiteSpace(row["text"]).localizedCaseInsensitiveContains(wanted) {
                    ids.insert(row["attachmentId"])
                }
                return ids
            }
        } catch { throw .database("search the text of case \(caseNumber)", "\(error)") }
    }

    static func withoutWhiteSpace(_ text: String) -> String {
        String(text.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) }.map(Character.init))
    }

    /// Writes an attachment's text inside the transaction that records it.
    static func insertText(_ db: Database, attachmentId: String, caseNumber: String, text: String?) throws {
        guard let text, !text.isEmpty else { return }
        try db.execute(sql: "INSERT INTO attachmentText (attachmentId, caseNumber, text) VALUES (?, ?, ?)",
                       arguments: [attachmentId, caseNumber, text])
    }

    /// The text goes with the file when an attachment is purged.
    static func purgeText(_ db: Database, attachmentId: String) throws {
        try db.execute(sql: "DELETE FROM attachmentText WHERE attachmentId = ?", arguments: [attachmentId])
    }

    static func encodeBarcodes(_ barcodes: [AttachmentBarcode]?) -> String? {
        guard let barcodes, !barcodes.isEmpty, let data = try? JSONEncoder().encode(barcodes) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeBarcodes(_ text: String?) -> [AttachmentBarcode]? {
        guard let text else { return nil }
        return try? JSONDecoder().decode([AttachmentBarcode].self, from: Data(text.utf8))
    }
}
