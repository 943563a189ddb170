import Foundation

/// A fixed set of imaging threads sharing one queue, each with its own `PageProcessor` (encoders are not
/// thread-safe). CPU-heavy page work runs here, never on Swift's cooperative pool.
public final class ImagingPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(PageProcessor) -> Void] = []
    private var stopping = false
    /// How many threads work the queue.
    public let workers: Int

    /// - Parameters:
    ///   - workers: threads; defaults to the machine's cores.
    ///   - text: how pages that ask for text are read (each thread loads its recogniser when first asked).
    public init(workers: Int = ProcessInfo.processInfo.activeProcessorCount, text: TextRecognitionSettings = TextRecognitionSettings()) throws {
        self.workers = max(1, workers)
        for index in 0..<self.workers {
            let handoff = Handoff(processor: try PageProcessor(text: text))
            let thread = Thread { self.work(handoff.processor) }  // the threads keep the pool alive until `stop()`
            thread.name = "imaging \(index + 1)"
            thread.start()
        }
    }

    /// A processor handed to the one thread that will own it.
    private struct Handoff: @unchecked Sendable {
        let processor: PageProcessor
    }

    private func work(_ processor: PageProcessor) {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job(processor)
        }
    }

    /// Runs `body` on the next free imaging thread with that thread's processor.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (PageProcessor) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { processor in continuation.resume(with: Result { try body(processor) }) }
            condition.signal()
            condition.unlock()
        }
    }

    /// Lets the threads end once the queue is empty.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}
