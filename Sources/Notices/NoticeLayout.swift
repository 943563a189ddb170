import Foundation
import PangoCairo
import Zint

/// Lays a form out on A4 pages and draws it: a pure function of template, context and fonts, so the same
/// data gives the same pages (and, with the same date, the same PDF bytes).
struct NoticeLayout {
    static let millimetre = 72.0 / 25.4
    static let fontFamily = "Noto Sans CJK SC"

    /// Something drawn on a page.
    enum Mark {
        case text(String, TextStyle, Box)
        case rule(Box, lineWidth: Double)
        case barcode(BarcodeSymbol, Box)
    }

    struct Page {
        var marks: [Mark] = []
    }

    let template: NoticeTemplate
    let context: [String: Any]
    let canvas: Canvas

    var pageWidth: Double { template.orientation == .portrait ? 595.28 : 841.89 }
    var pageHeight: Double { template.orientation == .portrait ? 841.89 : 595.28 }
    var margin: Double { 18 * Self.millimetre }
    var contentWidth: Double { pageWidth - 2 * margin }
    var footerHeight: Double { template.footer == nil ? 0 : 8 * Self.millimetre }
    var contentBottom: Double { pageHeight - margin - footerHeight }

    /// Where the next mark goes: the pages so far, the page being filled and the height used on it.
    private final class Cursor {
        var pages: [Page] = []
        var page = Page()
        var y: Double
        let band: (marks: [Mark], height: Double)
        let top: Double

        init(band: (marks: [Mark], height: Double), top: Double) {
            self.band = band
            self.top = top
            y = top
            placeBand()
        }

        private func placeBand() {
            page.marks += band.marks
            y = top + band.height
        }

        func newPage() {
            pages.append(page)
            page = Page()
            placeBand()
        }
    }

    /// The pages of the form, with header and footer on each.
    func pages() throws(ZintError) -> [Page] {
        let cursor = Cursor(band: try headerBand(), top: margin)
        for block in template.blocks {
            switch block {
            case .heading(let text):
                let style = TextStyle(family: Self.fontFamily, size: 18, bold: true, alignment: .center)
                let string = text.render(context)
                let height = canvas.measure(string, style: style, width: contentWidth)
                if cursor.y + height > contentBottom { cursor.newPage() }
                cursor.page.marks.append(.text(string, style, Box(x: margin, y: cursor.y, width: contentWidth, height: height)))
                cursor.y += height + 5 * Self.millimetre
            case .text(let text, let options):
                let style = TextStyle(family: Self.fontFamily, size: options.size, bold: options.bold,
                                      alignment: TextStyle.Alignment(options.alignment), lineSpacing: options.size * 0.35)
                let string = text.render(context)
                if string.isEmpty { continue }
                let height = canvas.measure(string, style: style, width: contentWidth)
                let above = options.spaceAbove * Self.millimetre
                if cursor.y + above + height > contentBottom { cursor.newPage() } else { cursor.y += above }
                cursor.page.marks.append(.text(string, style, Box(x: margin, y: cursor.y, width: contentWidth, height: height)))
                cursor.y += height + 2 * Self.millimetre
            case .space(let millimetres):
                cursor.y = min(cursor.y + millimetres * Self.millimetre, contentBottom)
            case .table(let table):
                layTable(table, cursor: cursor)
                cursor.y += 3 * Self.millimetre
            case .qrCode(let text, let size):
                let symbol = try Zint.symbol(.qrCode, data: text.render(context))
                let side = size * Self.millimetre
                if cursor.y + side > contentBottom { cursor.newPage() }
                cursor.page.marks.append(.barcode(symbol, Box(x: margin + (contentWidth - side) / 2, y: cursor.y, width: side, height: side)))
                cursor.y += side + 4 * Self.millimetre
            }
        }
        var pages = cursor.pages + [cursor.page]
        if let footer = template.footer {
            let style = TextStyle(family: Self.fontFamily, size: 8.5, alignment: .center)
            for index in pages.indices {
                var footerContext = context
                footerContext["page"] = String(index + 1)
                footerContext["pages"] = String(pages.count)
                let text = footer.render(footerContext)
                let box = Box(x: margin, y: pageHeight - margin - footerHeight + 3 * Self.millimetre,
                              width: contentWidth, height: footerHeight)
                pages[index].marks.append(.text(text, style, box))
            }
        }
        return pages
    }

    /// The band at the top of every page: Code 128 and the case number on the left, QR code on the right, the
    /// header text between.
    private func headerBand() throws(ZintError) -> (marks: [Mark], height: Double) {
        var marks: [Mark] = []
        var height = 0.0
        let small = TextStyle(family: Self.fontFamily, size: 8.5)
        if template.caseNumberCodes, let caseNumber = context["caseNumber"] as? String {
            let code128 = try Zint.symbol(.code128, data: caseNumber)
            let barWidth = Self.moduleCount(code128) * 0.3 * Self.millimetre
            marks.append(.barcode(code128, Box(x: margin, y: margin, width: barWidth, height: 9 * Self.millimetre)))
            marks.append(.text(caseNumber, small, Box(x: margin, y: margin + 10 * Self.millimetre, width: max(barWidth, 60), height: 10)))
            let qr = try Zint.symbol(.qrCode, data: caseNumber)
            let side = Self.moduleCount(qr) * 0.55 * Self.millimetre
            marks.append(.barcode(qr, Box(x: pageWidth - margin - side, y: margin, width: side, height: side)))
            height = max(side, 14 * Self.millimetre) + 4 * Self.millimetre
        }
        if let header = template.header {
            let text = header.render(context)
            let style = TextStyle(family: Self.fontFamily, size: 9, alignment: .center)
            let textHeight = canvas.measure(text, style: style, width: contentWidth * 0.5)
            marks.append(.text(text, style, Box(x: margin + contentWidth * 0.25, y: margin, width: contentWidth * 0.5, height: textHeight)))
            height = max(height, textHeight + 4 * Self.millimetre)
        }
        return (marks, height)
    }

    /// A symbol's width in modules: its width over the narrowest bar (one module).
    static func moduleCount(_ symbol: BarcodeSymbol) -> Double {
        let narrowest = symbol.modules.map(\.width).filter { $0 > 0 }.min() ?? 1
        return symbol.width / narrowest
    }

    private struct LaidRow {
        var cells: [(text: String, style: TextStyle, x: Double, width: Double)]
        var height: Double
    }

    private func layTable(_ table: NoticeTemplate.Table, cursor: Cursor) {
        let total = table.columns.reduce(0, +)
        let widths = table.columns.map { $0 / total * contentWidth }
        var offsets: [Double] = [margin]
        for width in widths { offsets.append(offsets.last! + width) }
        let padding = (horizontal: 3.0, vertical: 3.0)

        func lay(_ row: NoticeTemplate.Row, context rowContext: [String: Any]) -> LaidRow {
            var column = 0
            var cells: [(String, TextStyle, Double, Double)] = []
            var height = row.minimumHeight * Self.millimetre
            for cell in row.cells {
                let alignment = cell.alignment ?? (row.isHeader ? .center : (column < table.alignments.count ? table.alignments[column] : .center))
                let style = TextStyle(family: Self.fontFamily, size: table.size, bold: cell.bold || row.isHeader,
                                      alignment: TextStyle.Alignment(alignment), lineSpacing: table.size * 0.2)
                let x = offsets[column]
                let width = offsets[column + cell.span] - x
                let text = cell.text.render(rowContext)
                height = max(height, canvas.measure(text, style: style, width: width - 2 * padding.horizontal) + 2 * padding.vertical)
                cells.append((text, style, x, width))
                column += cell.span
            }
            return LaidRow(cells: cells, height: max(height, table.size * 1.6 + 2 * padding.vertical))
        }

        func place(_ row: LaidRow) {
            for cell in row.cells {
                let box = Box(x: cell.x, y: cursor.y, width: cell.width, height: row.height)
                cursor.page.marks.append(.rule(box, lineWidth: 0.6))
                cursor.page.marks.append(.text(cell.text, cell.style,
                                        Box(x: cell.x + padding.horizontal, y: cursor.y + padding.vertical,
                                            width: cell.width - 2 * padding.horizontal, height: row.height - 2 * padding.vertical)))
            }
            cursor.y += row.height
        }

        var headers: [LaidRow] = []
        let shared: [String: Any] = ["today": context["today"] ?? [:], "settings": context["settings"] ?? [:],
                                     "caseNumber": context["caseNumber"] ?? ""]
        for row in table.rows {
            var laid: [LaidRow] = []
            if let each = row.each {
                let items = (context[each] as? [[String: Any]]) ?? []
                let blank = NoticeData.blankItem(template.fields.first { $0.name == each }?.fields ?? [])
                for index in 0..<max(items.count, row.minimumRows) {
                    var itemContext = shared
                    itemContext.merge(index < items.count ? items[index] : blank) { _, item in item }
                    itemContext["number"] = String(index + 1)
                    laid.append(lay(row, context: itemContext))
                }
            } else {
                laid.append(lay(row, context: context))
            }
            for laidRow in laid {
                if cursor.y + laidRow.height > contentBottom {
                    cursor.newPage()
                    for header in headers { place(header) }
                }
                place(laidRow)
                if row.isHeader { headers.append(laidRow) }
            }
        }
    }

    /// Draws laid-out pages onto the canvas.
    func draw(_ pages: [Page]) throws(CairoError) {
        for page in pages {
            try canvas.beginPage(width: pageWidth, height: pageHeight)
            for mark in page.marks {
                switch mark {
                case .text(let text, let style, let box):
                    canvas.drawText(text, style: style, in: box)
                case .rule(let box, let lineWidth):
                    canvas.strokeRectangle(box, lineWidth: lineWidth)
                case .barcode(let symbol, let box):
                    let sx = box.width / symbol.width, sy = box.height / symbol.height
                    canvas.fillRectangles(symbol.modules.map {
                        Box(x: box.x + $0.x * sx, y: box.y + $0.y * sy, width: $0.width * sx, height: $0.height * sy)
                    })
                }
            }
            try canvas.endPage()
        }
    }
}

extension TextStyle.Alignment {
    init(_ alignment: NoticeTemplate.Alignment) {
        switch alignment {
        case .left: self = .left
        case .center: self = .center
        case .right: self = .right
        }
    }
}
