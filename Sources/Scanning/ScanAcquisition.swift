import Foundation
import Imaging
import SANE
import TongbanCore

/// How a run of the feeder (or one flatbed page) ended.
public enum AcquisitionEnd: Sendable, Equatable {
    /// The feeder ran out after at least one page, or the page limit was reached.
    case complete
    /// The clerk cancelled; whole pages already read are kept, the page being read is dropped.
    case cancelled
    /// The scanner failed (jam, cover open, I/O); pages before the failure are kept.
    case failed(Problem)
}

/// Reads pages from a scanner and sends each through the imaging pool while the next one is being read.
///
/// Pages are handed to `commit` in the order they came out of the scanner, one at a time. At most
/// `pool.workers + 1` raw pages are held at once, so memory does not grow with the length of the batch.
public struct ScanAcquisition: Sendable {
    public var pool: ImagingPool
    /// A page that gets no bytes for this long is stopped (`sane_cancel`) and the batch fails as stalled.
    public var stallSeconds: Double
    /// The same for the batch's first page, which may wait on the lamp warming up and the feeder picking the
    /// first sheet (at least `stallSeconds`).
    public var firstPageStallSeconds: Double

    public init(pool: ImagingPool, stallSeconds: Double = 60, firstPageStallSeconds: Double? = nil) {
        self.pool = pool
        self.stallSeconds = stallSeconds
        self.firstPageStallSeconds = max(stallSeconds, firstPageStallSeconds ?? stallSeconds)
    }

    /// Scans until the feeder is empty, `maxPages` pages are in, the scan is cancelled or the scanner fails.
    /// A `commit` error stops the scan and is returned as the failure (the page it could not keep is not counted).
    /// `beforePage` runs before each page is started (1-based number): backend options that change from page to
    /// page go there (the tests use it to make the test backend jam at a given page).
    public func run(device: SANEDevice, dotsPerInch: Int, cleanup: PageCleanup, maxPages: Int?, expectsFeeder: Bool,
                    isCancelled: @escaping @Sendable () -> Bool,
                    beforePage: (@Sendable (Int, SANEDevice) async throws(SANEError) -> Void)? = nil,
                    commit: @escaping @Sendable (ProcessedPage) async throws -> Void) async -> (pages: Int, end: AcquisitionEnd) {
        let slots = Slots(pool.workers + 1)
        let (pending, queue) = AsyncStream.makeStream(of: Task<ProcessedPage, any Error>.self)
        let pool = self.pool
        // The committer: takes processed pages in scan order.
        let committer = Task { () -> (Int, Problem?) in
            var committed = 0
            var failure: Problem?
            for await task in pending {
                if failure == nil {
                    do {
                        let page = try await task.value
                        try await commit(page)
                        committed += 1
                    } catch {
                        failure = Self.problem(error, device: device.name)
                    }
                }
                await slots.release()
            }
            return (committed, failure)
        }
        // The watchdog: a scanner that stops sending mid-page (a USB stall, a hung backend) is cancelled, so the
        // batch ends with its pages kept instead of waiting forever.
        let stalled = StallFlag()
        let stallLimit = stallSeconds, firstPageStallLimit = firstPageStallSeconds
        let watchdog = Task {
            var last: (bytes: Int, since: ContinuousClock.Instant)?
            let interval = Duration.milliseconds(Int(min(250, stallLimit * 500)))
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let bytes = device.readProgress.snapshot else { last = nil; continue }
                let limit = stalled.pagesStarted <= 1 ? firstPageStallLimit : stallLimit
                if let previous = last, previous.bytes == bytes {
                    if ContinuousClock.now - previous.since > .seconds(limit) {
                        stalled.set(bytes)
                        device.cancel()
                        last = nil
                    }
                } else {
                    last = (bytes, ContinuousClock.now)
                }
            }
        }
        defer { watchdog.cancel() }
        var end = AcquisitionEnd.complete
        var read = 0
        while maxPages.map({ read < $0 }) ?? true {
            await slots.acquire()
            if isCancelled() {
                await slots.release()
                end = .cancelled
                break
            }
            do throws(SANEError) {
                try await beforePage?(read + 1, device)
                stalled.pageStarted(read + 1)
                guard let page = try await device.scanPage() else {
                    await slots.release()
                    if read == 0 && expectsFeeder {
                        end = .failed(SANEError(call: "sane_start", device: device.name, status: .noDocuments).problem)
                    }
                    break
                }
                read += 1
                let raw = RawPage(width: page.width, height: page.height, channels: page.channels, pixels: page.pixels,
                                  dotsPerInch: dotsPerInch)
                queue.yield(Task { try await pool.perform { try $0.process(raw, cleanup) } })
            } catch {
                await slots.release()
                if let bytes = stalled.value {
                    end = .failed(Problem(
                        code: "scanner-stalled", status: 504, title: "扫描仪无响应 Scanner stopped sending",
                        detail: "\(device.name): no data for \(read == 0 ? firstPageStallLimit : stallLimit) s after \(bytes) bytes of page \(read + 1); the page was dropped",
                        remedy: "检查扫描仪是否卡纸或断开，重新放纸后继续扫描；已扫描的页面已保留。Check the scanner for a jam or a loose cable, reload and scan the rest; pages already scanned are kept.",
                        device: device.name))
                } else {
                    end = isCancelled() || error.status == .cancelled ? .cancelled : .failed(error.problem)
                }
                break
            }
        }
        queue.finish()
        await device.endBatch()
        let (committed, failure) = await committer.value
        if let failure, end == .complete || end == .cancelled { end = .failed(failure) }
        return (committed, end)
    }

    static func problem(_ error: any Error, device: String) -> Problem {
        if let convertible = error as? any ProblemConvertible { return convertible.problem }
        return Problem(code: "scan-page-failed", status: 500, title: "页面处理失败 Page could not be kept",
                       detail: "\(device): \(error)", remedy: "重新扫描该页；已保存的页面不受影响。Rescan the page; pages already kept are intact.",
                       device: device)
    }
}

/// Set by the watchdog when it stopped a stalled page (with the bytes the page had got); tells the watchdog which
/// page is being read.
final class StallFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: Int?
    private var started = 0
    func set(_ count: Int) { lock.withLock { bytes = count } }
    var value: Int? { lock.withLock { bytes } }
    func pageStarted(_ number: Int) { lock.withLock { started = number } }
    var pagesStarted: Int { lock.withLock { started } }
}

/// A counting semaphore for tasks.
actor Slots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
