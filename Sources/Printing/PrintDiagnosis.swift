import CUPS
import Store
import TongbanCore

/// Reads CUPS' job and printer attributes and says where the job is and what, if anything, stops it — in words for
/// the clerk. Pure: the same attributes always give the same answer, so every case is unit-tested.
public enum PrintDiagnosis {
    /// What a job's attributes mean.
    public struct Verdict: Sendable, Equatable {
        public var state: PrintState
        public var problem: Problem?
        public var reasons: [String]
        public var message: String?
    }

    /// - Parameters:
    ///   - job: Get-Job-Attributes (or a job event): `job-state`, `job-state-reasons`, `job-printer-state-reasons`,
    ///     `job-printer-state-message`.
    ///   - printer: the queue's attributes: `printer-state`, `printer-state-reasons`, `printer-state-message`.
    ///   - cancelRequested: the clerk asked to cancel it.
    public static func verdict(job: IPPAttributes, printer: IPPAttributes, queue: String, cancelRequested: Bool) -> Verdict {
        let jobState = job.integer("job-state") ?? 3
        let reasons = unique(job.keywords("job-state-reasons") + job.keywords("job-printer-state-reasons")
                             + printer.keywords("printer-state-reasons"))
        let message = [job.text("job-printer-state-message"), printer.text("printer-state-message")]
            .compactMap { $0 }.first { !$0.isEmpty }
        let ended = jobState == 7 || jobState == 8
        let printerProblem = problem(reasons: ended ? reasons : blocking(reasons), message: message,
                                     printerState: printer.integer("printer-state"), queue: queue)
        switch jobState {
        case 9:
            // 2.4 can leave `processing-to-stop-point` on a completed job: the state decides, not the reasons. But when
            // the printer reported a jam during the job (CUPS' ipp backend can call a job completed that the printer
            // gave up on), the clerk is told to check the pages — completed, with the jam as its problem.
            let jam = job.keywords("job-printer-state-reasons").contains { $0.hasPrefix("media-jam") }
            return Verdict(state: .completed, problem: jam ? jamDuringJob(queue, reasons: reasons, message: message) : nil,
                           reasons: reasons, message: message)
        case 7 where cancelRequested:
            return Verdict(state: .canceled, problem: nil, reasons: reasons, message: message)
        case 7, 8:
            let cause = printerProblem ?? Problem(
                code: "print-aborted", status: 502, title: "打印任务未完成 Print job did not finish",
                detail: "job \(jobState == 7 ? "canceled at the printer" : "aborted") on \(queue)\(message.map { ": \($0)" } ?? "")",
                remedy: "检查打印机后重新打印。Check the printer, then print again.", device: "cups:\(queue)")
            return Verdict(state: .failed, problem: cause, reasons: reasons, message: message)
        case 5:
            return Verdict(state: printerProblem == nil ? .printing : .blocked, problem: printerProblem, reasons: reasons, message: message)
        case 6:
            return Verdict(state: .blocked, problem: printerProblem ?? queueStopped(queue, message), reasons: reasons, message: message)
        default:
            return Verdict(state: printerProblem == nil ? .queued : .blocked, problem: printerProblem, reasons: reasons, message: message)
        }
    }

    /// A printer's state as a problem for the clerk, or nil when nothing is wrong. Pass only the reasons that count
    /// (see `verdict`); a printer view passes its reasons without the `-report` ones.
    public static func problem(reasons: [String], message: String?, printerState: Int?, queue: String) -> Problem? {
        func has(_ prefixes: String...) -> Bool {
            reasons.contains { reason in prefixes.contains { reason.hasPrefix($0) } }
        }
        let device = "cups:\(queue)"
        let detail = "\(queue): \(reasons.joined(separator: ", "))\(message.map { " — \($0)" } ?? "")"
        if printerState == 5 || has("printer-stopped", "paused") {
            return queueStopped(queue, message)
        }
        if let message, message.contains("may not exist") || message.contains("unavailable at this time") {
            return Problem(code: "printer-unreachable", status: 503, title: "打印机无法连接 Printer unreachable",
                           detail: "\(queue): \(message)",
                           remedy: "检查打印机电源与网线/USB 连接；恢复后任务会自动继续。Check the printer's power and cable; the job continues once it is back.",
                           device: device)
        }
        if has("media-jam") {
            return Problem(code: "printer-jam", status: 409, title: "打印机卡纸 Paper jam", detail: detail,
                           remedy: "打开打印机取出卡纸，然后重新打印本页。Open the printer, remove the jammed paper, then print again.",
                           device: device)
        }
        if has("media-empty", "media-needed") {
            return Problem(code: "printer-tray-empty", status: 409, title: "纸盒无纸 Paper tray empty", detail: detail,
                           remedy: "在纸盒中放入 A4 纸，任务会自动继续。Load A4 paper into the tray; the job continues by itself.",
                           device: device)
        }
        if has("door-open", "cover-open", "interlock-open") {
            return Problem(code: "printer-door-open", status: 409, title: "打印机盖门未关 Printer door open", detail: detail,
                           remedy: "关好打印机的盖门。Close the printer's door or cover.", device: device)
        }
        if has("toner-empty", "marker-supply-empty") {
            return Problem(code: "printer-toner-empty", status: 409, title: "墨粉/墨水已用完 Toner empty", detail: detail,
                           remedy: "更换墨粉盒（墨盒）。Replace the toner (ink) cartridge.", device: device)
        }
        if has("offline", "shutdown", "connecting-to-device") && has("-error") {
            return Problem(code: "printer-unreachable", status: 503, title: "打印机无法连接 Printer unreachable", detail: detail,
                           remedy: "检查打印机电源与连接。Check the printer's power and connection.", device: device)
        }
        return nil
    }

    /// The reasons that can hold up a job still going. `-report` reasons are informational and linger after the
    /// fact (a jam report stays after the jam is cleared); `-warning` ones do not stop the printer — except
    /// `media-needed`, which says the job at hand waits for paper. Reasons without a severity suffix count (CUPS'
    /// own convention for errors). A job that ended is explained with every reason, reports included.
    public static func blocking(_ reasons: [String]) -> [String] {
        reasons.filter { !$0.hasSuffix("-report") && (!$0.hasSuffix("-warning") || $0.hasPrefix("media-needed")) }
    }

    /// Warnings worth showing but not blocking (toner low, …).
    public static func warnings(_ reasons: [String]) -> [String] {
        reasons.filter { $0.hasSuffix("-warning") || $0.hasPrefix("toner-low") || $0.hasPrefix("marker-supply-low") }
    }

    static func jamDuringJob(_ queue: String, reasons: [String], message: String?) -> Problem {
        Problem(code: "printer-jam", status: 409, title: "打印时卡纸 Paper jammed during the job",
                detail: "\(queue) reported \(reasons.joined(separator: ", ")) while printing\(message.map { " — \($0)" } ?? "")",
                remedy: "清除卡纸后核对打印件是否完整，缺页请重新打印。Clear the jam, check that every page came out, and print again if not.",
                device: "cups:\(queue)")
    }

    static func queueStopped(_ queue: String, _ message: String?) -> Problem {
        Problem(code: "printer-queue-stopped", status: 409, title: "打印队列已停止 Print queue stopped",
                detail: "\(queue) is stopped\(message.map { ": \($0)" } ?? "")",
                remedy: "在打印管理中恢复该队列（cupsenable \(queue)），任务会继续。Resume the queue (cupsenable \(queue)); waiting jobs then print.",
                device: "cups:\(queue)")
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
