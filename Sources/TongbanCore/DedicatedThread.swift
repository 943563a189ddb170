import Foundation

/// A thread of its own for a stateful C handle (SANE device, CUPS connection, libusb context, V4L2 fd).
///
/// Blocking C calls never run on Swift's cooperative pool: callers `await perform { … }` and the closure runs
/// here, in submission order, one at a time. Libraries that keep per-thread state (libcups) see one thread.
public final class DedicatedThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var thread: Thread?
    public let name: String

    public init(name: String) {
        self.name = name
        // The thread keeps this object alive until `stop()`; the object is the thread's queue.
        let thread = Thread { self.runLoop() }
        thread.name = name
        self.thread = thread
        thread.start()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Runs `body` on this thread and returns its result.
    public func perform<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            enqueue {
                do throws(E) { continuation.resume(returning: .success(try body())) }
                catch { continuation.resume(returning: .failure(error)) }
            }
        }
        return try result.get()
    }

    /// Runs `body` on this thread and waits for it, from a thread that is not on the cooperative pool
    /// (command-line tools, tests, other dedicated threads).
    public func performBlocking<T>(_ body: @escaping () throws -> T) throws -> T {
        nonisolated(unsafe) var result: Result<T, any Error>?
        let done = DispatchSemaphore(value: 0)
        enqueue {
            result = Result { try body() }
            done.signal()
        }
        done.wait()
        return try result!.get()
    }

    private func enqueue(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end once its queued jobs are done.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }
}
