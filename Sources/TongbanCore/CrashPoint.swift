import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named points between the steps of a durable operation where the crash tests kill the process for real: with
/// `TONGBAN_CRASH_AT=<name>` in its environment, the process sends itself SIGKILL when it reaches that point —
/// no clean-up, no flush, exactly as a power cut or the OOM killer would stop it there. Unset (always, outside the
/// tests), reaching a point costs one comparison.
public enum CrashPoint {
    private static let armed: String? = ProcessInfo.processInfo.environment["TONGBAN_CRASH_AT"].flatMap { $0.isEmpty ? nil : $0 }

    /// Kills the process here if the tests armed this point.
    public static func reach(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
