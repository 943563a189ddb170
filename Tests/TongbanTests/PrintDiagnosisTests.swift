import CUPS
import Delivery
import Foundation
import Logging
import TongbanCore
import Printing
import Store
import Testing

/// The pure reading of CUPS' attributes: every state and printer condition the clerk can meet.
@Suite struct PrintDiagnosisTests {
    func verdict(job: IPPAttributes, printer: IPPAttributes = [:], cancel: Bool = false) -> PrintDiagnosis.Verdict {
        PrintDiagnosis.verdict(job: job, printer: printer, queue: "Counter_A4", cancelRequested: cancel)
    }

    @Test func jobStatesMapToWhatTheClerkSees() {
        #expect(verdict(job: ["job-state": ["3"]]).state == .queued)
        #expect(verdict(job: ["job-state": ["4"]]).state == .queued)
        #expect(verdict(job: ["job-state": ["5"]]).state == .printing)
        #expect(verdict(job: ["job-state": ["9"], "job-state-reasons": ["processing-to-stop-point"]]).state == .completed)
        #expect(verdict(job: ["job-state": ["9"]]).problem == nil)
        #expect(verdict(job: ["job-state": ["7"]], cancel: true).state == .canceled)
        let atPrinter = verdict(job: ["job-state": ["7"], "job-printer-state-message": ["Print job canceled at printer."]])
        #expect(atPrinter.state == .failed && atPrinter.problem?.code == "print-aborted")
        #expect(verdict(job: ["job-state": ["8"]]).state == .failed)
    }

    @Test func printerConditionsBecomeProblemsWithRemedies() {
        let cases: [(IPPAttributes, String)] = [
            (["printer-state-reasons": ["media-empty-error"]], "printer-tray-empty"),
            (["printer-state-reasons": ["media-empty-warning", "media-needed-warning"]], "printer-tray-empty"),
            (["printer-state-reasons": ["media-jam-error"]], "printer-jam"),
            (["printer-state-reasons": ["door-open"]], "printer-door-open"),
            (["printer-state-reasons": ["toner-empty-error"]], "printer-toner-empty"),
            (["printer-state": ["5"], "printer-state-reasons": ["paused"]], "printer-queue-stopped"),
            (["printer-state-message": ["The printer may not exist or is unavailable at this time."]], "printer-unreachable"),
        ]
        for (printer, code) in cases {
            let result = verdict(job: ["job-state": ["5"]], printer: printer)
            #expect(result.state == .blocked, "\(printer)")
            #expect(result.problem?.code == code, "\(printer)")
            #expect(result.problem?.remedy?.isEmpty == false)
            #expect(result.problem?.device == "cups:Counter_A4")
        }
    }

    @Test func reportsAndWarningsDoNotHoldUpAJobButExplainOneThatEnded() {
        let lingering: IPPAttributes = ["printer-state-reasons": ["media-jam-report", "media-jam-warning", "toner-low-warning"]]
        #expect(verdict(job: ["job-state": ["5"]], printer: lingering).state == .printing)
        let ended = verdict(job: ["job-state": ["7"], "job-printer-state-reasons": ["media-jam-report"]])
        #expect(ended.state == .failed && ended.problem?.code == "printer-jam")
        let completed = verdict(job: ["job-state": ["9"], "job-printer-state-reasons": ["media-jam-report"]])
        #expect(completed.state == .completed && completed.problem?.code == "printer-jam")
        #expect(PrintDiagnosis.warnings(["toner-low-warning", "none", "media-jam-report"]) == ["toner-low-warning"])
    }

    @Test func aPendingJobOnAStoppedQueueIsBlocked() {
        let result = verdict(job: ["job-state": ["3"], "job-state-reasons": ["printer-stopped"]], printer: ["printer-state": ["5"]])
        #expect(result.state == .blocked)
        #expect(result.problem?.code == "printer-queue-stopped")
    }

    /// A job recorded but not yet accepted by CUPS when the service died is reported interrupted at the next start —
    /// never sent again behind the clerk's back (CUPS may hold it already).
    @Test func aJobCaughtMidHandOverIsReportedInterruptedNotResent() async throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        let record = PrintJobRecord(id: "job-1", printer: "Counter_A4", document: "receipt-notice", caseNumber: "C1", copies: 1,
                                    sides: nil, media: nil, pages: 1, state: .submitting, attachmentId: nil, operator: nil,
                                    createdAt: Date())
        try store.savePrintJob(record)
        let service = PrintService(store: store, intake: AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "c"),
                                   events: EventBus(), renderer: try NoticeTests.renderer(), cupsServer: "127.0.0.1:1",
                                   noticeQueue: nil, receiptPrinter: nil, logger: Logger(label: "test"))
        #expect(try await service.recoverInterrupted() == ["job-1"])
        let recovered = try #require(try store.printJob(id: "job-1"))
        #expect(recovered.state == .failed && recovered.cupsJobId == nil)
        #expect(recovered.problem?.code == "print-interrupted")
        #expect(try await service.recoverInterrupted().isEmpty)
    }
}
