import CLeptonica
import Glibc

/// Leptonica, the image-processing library behind deskew, crop and binarisation.
public enum Leptonica {
    /// The library's version string, e.g. `leptonica-1.82.0`.
    public static var version: String {
        guard let raw = getLeptonicaVersion() else { return "unknown" }
        defer { free(raw) }
        return String(cString: raw)
    }
}
