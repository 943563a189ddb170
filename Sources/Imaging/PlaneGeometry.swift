import Foundation

/// The true proportions of a flat rectangle seen in perspective, and the paper sizes a counter meets.
///
/// A rectangle's picture is a quadrilateral; its sides' lengths mislead at a tilt (the far side is shorter, and a page
/// turned on the desk foreshortens unevenly). With a pinhole camera whose principal point is the picture's centre,
/// the rectangle's aspect follows from the four corners and the focal length (Zhang & He, "Whiteboard scanning and
/// image enhancement", 2007); the focal length comes from the camera's field of view, or from the corners themselves
/// when the perspective is strong enough to tell.
public enum PlaneGeometry {
    /// How the aspect was found.
    public enum Method: String, Sendable, Codable {
        /// From the perspective, with the focal length the camera's field of view gives.
        case fieldOfView
        /// From the perspective, with the focal length the corners themselves give.
        case vanishingPoints
        /// The mean lengths of opposite sides (no usable perspective: seen square on).
        case sides
    }

    /// The flat rectangle's width ÷ height (top edge ÷ left edge of `quadrilateral`), and the focal length used.
    /// - Parameters:
    ///   - principalPoint: the picture's centre.
    ///   - focalLength: in pixels, when the camera's field of view is known.
    public static func aspect(of quadrilateral: Quadrilateral, principalPoint: ImagePoint,
                              focalLength: Double?) -> (aspect: Double, focalLength: Double?, method: Method) {
        let sides = quadrilateral.flatSize
        let fallback = (sides.width / max(sides.height, 1e-9), focalLength, Method.sides)
        guard let (n2, n3) = sideVectors(quadrilateral, principalPoint: principalPoint) else { return fallback }
        // Seen square on (the rectangle's sides stay parallel in the picture), the perspective says nothing about f.
        let perspective = abs(n2[2] * n3[2])
        var f = focalLength
        if f == nil {
            let squared = -(n2[0] * n3[0] + n2[1] * n3[1]) / (n2[2] * n3[2])
            // Only trust a focal length from the corners when the perspective is strong and the answer plausible
            // (a field of view between 20° and 120° for this picture).
            let size = 2 * max(abs(principalPoint.x), abs(principalPoint.y))
            if perspective > 1e-6, squared.isFinite, squared > 0 {
                let candidate = squared.squareRoot()
                if candidate > size / (2 * tan(60 * Double.pi / 180)) && candidate < size / (2 * tan(10 * Double.pi / 180)) { f = candidate }
            }
        }
        guard let f, perspective > 1e-9 || focalLength != nil else { return fallback }
        let widthSquared = (n2[0] * n2[0] + n2[1] * n2[1]) / (f * f) + n2[2] * n2[2]
        let heightSquared = (n3[0] * n3[0] + n3[1] * n3[1]) / (f * f) + n3[2] * n3[2]
        guard widthSquared > 0, heightSquared > 0 else { return fallback }
        let aspect = (widthSquared / heightSquared).squareRoot()
        guard aspect.isFinite, aspect > 0.05, aspect < 20 else { return fallback }
        return (aspect, f, focalLength != nil ? .fieldOfView : .vanishingPoints)
    }

    /// The flat rectangle's real width and height (top and left edges, means of opposite sides), when it lies on the
    /// plane the camera's axis meets at `axisDepth` (the desk, measured along the axis in the unit wanted). The
    /// plane's orientation comes from the rectangle's own vanishing directions; each corner is where its ray meets
    /// the plane. Nil when the focal length gives no plane (a degenerate outline).
    public static func size(of quadrilateral: Quadrilateral, principalPoint: ImagePoint, focalLength f: Double,
                            axisDepth: Double) -> (width: Double, height: Double)? {
        let rays = quadrilateral.corners.map { [$0.x - principalPoint.x, $0.y - principalPoint.y, f] }
        guard let (n2, n3) = sideVectors(quadrilateral, principalPoint: principalPoint) else { return nil }
        // The sides' directions in space (up to scale): A⁻¹ n with A = diag(f, f, 1).
        let across = [n2[0] / f, n2[1] / f, n2[2]], down = [n3[0] / f, n3[1] / f, n3[2]]
        let normal = cross(across, down)
        let plane = normal[2] * axisDepth
        guard abs(plane) > 1e-12 else { return nil }
        let points = rays.map { ray -> [Double] in
            let t = plane / dot(normal, ray)
            return ray.map { $0 * t }
        }
        guard points.allSatisfy({ $0[2] > 0 && $0.allSatisfy(\.isFinite) }) else { return nil }
        func distance(_ a: [Double], _ b: [Double]) -> Double { ((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2])).squareRoot() }
        return ((distance(points[0], points[1]) + distance(points[3], points[2])) / 2,
                (distance(points[0], points[3]) + distance(points[1], points[2])) / 2)
    }

    /// Zhang's n2 and n3: the images of the rectangle's top and left sides as vectors whose directions in space are
    /// A⁻¹n (A = diag(f, f, 1)), from the corners centred on the principal point (m1 top-left, m2 top-right, m3
    /// bottom-left, m4 bottom-right). Nil for a degenerate outline.
    static func sideVectors(_ quadrilateral: Quadrilateral, principalPoint: ImagePoint) -> (n2: [Double], n3: [Double])? {
        let c = quadrilateral.corners
        func point(_ p: ImagePoint) -> [Double] { [p.x - principalPoint.x, p.y - principalPoint.y, 1] }
        let m1 = point(c[0]), m2 = point(c[1]), m3 = point(c[3]), m4 = point(c[2])
        let m1x4 = cross(m1, m4)
        let k2 = dot(m1x4, m3) / dot(cross(m2, m4), m3)
        let k3 = dot(m1x4, m2) / dot(cross(m3, m4), m2)
        guard k2.isFinite, k3.isFinite else { return nil }
        return ((0..<3).map { m2[$0] * k2 - m1[$0] }, (0..<3).map { m3[$0] * k3 - m1[$0] })
    }

    /// The focal length in pixels of a camera whose picture is `width` pixels across a horizontal field of view.
    public static func focalLength(pictureWidth width: Int, horizontalFieldOfViewDegrees degrees: Double) -> Double {
        Double(width) / 2 / tan(degrees * Double.pi / 360)
    }

    private static func cross(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double { a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }
}

/// A standard paper or card size, short side first.
public struct PaperSize: Sendable, Codable, Equatable {
    public var name: String
    public var shortMillimetres: Double
    public var longMillimetres: Double

    /// Long side ÷ short side.
    public var ratio: Double { longMillimetres / shortMillimetres }

    /// What a counter is handed: A4, A5 and B5 (GB/T 148, as ISO 216), US Letter, 16K (正度16开, 184 × 260 mm), ID-1
    /// cards.
    public static let standard: [PaperSize] = [
        PaperSize(name: "A4", shortMillimetres: 210, longMillimetres: 297),
        PaperSize(name: "A5", shortMillimetres: 148, longMillimetres: 210),
        PaperSize(name: "B5", shortMillimetres: 176, longMillimetres: 250),
        PaperSize(name: "Letter", shortMillimetres: 215.9, longMillimetres: 279.4),
        PaperSize(name: "16K", shortMillimetres: 184, longMillimetres: 260),
        PaperSize(name: "ID-1", shortMillimetres: 53.98, longMillimetres: 85.6),
    ]

    public static let card = standard.first { $0.name == "ID-1" }!

    /// The standard size a document of `ratio` (long ÷ short) and, when the frame's scale is known, of
    /// `longMillimetres` is: within `ratioTolerance` of the ratio and 6 % of the length, the nearest. Without a
    /// length, only a ratio no two standard pages share picks one (Letter, ID-1); nil when none fits.
    public static func matching(ratio: Double, longMillimetres: Double?, ratioTolerance: Double = 0.035) -> PaperSize? {
        let fitting = standard.filter { abs($0.ratio / ratio - 1) <= ratioTolerance }
        if let longMillimetres {
            return fitting.filter { abs($0.longMillimetres / longMillimetres - 1) <= 0.06 }
                .min { abs($0.longMillimetres - longMillimetres) < abs($1.longMillimetres - longMillimetres) }
        }
        let ratios = Set(fitting.map { ($0.ratio * 40).rounded() })
        return ratios.count == 1 && fitting.count == 1 ? fitting[0] : nil
    }
}
