import Foundation

/// A point in image coordinates: x to the right, y down, in pixel edges (the image's top-left corner is 0,0).
public struct ImagePoint: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    func distance(to other: ImagePoint) -> Double { hypot(x - other.x, y - other.y) }
}

/// A four-cornered outline: top-left, top-right, bottom-right, bottom-left, clockwise on screen.
public struct Quadrilateral: Sendable, Hashable, Codable {
    public var corners: [ImagePoint]

    public init(corners: [ImagePoint]) {
        precondition(corners.count == 4, "a quadrilateral has four corners")
        self.corners = corners
    }

    /// The mean lengths of opposite sides: the size of the flat rectangle it shows.
    public var flatSize: (width: Double, height: Double) {
        let c = corners
        return ((c[0].distance(to: c[1]) + c[3].distance(to: c[2])) / 2, (c[0].distance(to: c[3]) + c[1].distance(to: c[2])) / 2)
    }

    /// The same outline starting from another corner, so that the long sides run across (a card lying sideways).
    public var landscape: Quadrilateral {
        let size = flatSize
        return size.width >= size.height ? self : Quadrilateral(corners: [corners[3], corners[0], corners[1], corners[2]])
    }

    public var area: Double {
        var sum = 0.0
        for index in 0..<4 {
            let a = corners[index], b = corners[(index + 1) % 4]
            sum += a.x * b.y - b.x * a.y
        }
        return abs(sum) / 2
    }
}

/// Finds a sheet of paper or a card lying on a darker desk in a camera picture: the largest bright region's outline,
/// reduced to four corners and refined by fitting straight lines to its edges. Pure Swift on grey pixels.
public enum DocumentFinder {
    /// The longest side the search works at; corners are then refined to sub-pixel lines and scaled back.
    static let workingSize = 640

    /// The outline of the largest bright region covering at least `minimumAreaFraction` of the picture, or nil.
    public static func find(grey: [UInt8], width: Int, height: Int, minimumAreaFraction: Double = 0.04) -> Quadrilateral? {
        locate(grey: grey, width: width, height: height, minimumAreaFraction: minimumAreaFraction)?.outline
    }

    /// Where a document lies in a picture.
    public struct Location: Sendable {
        /// Its outline (for a document running out of the picture: the part in view, cut by the picture's edge).
        public var outline: Quadrilateral
        /// It runs out of the picture: some of it is not in view.
        public var outOfFrame: Bool
    }

    /// The largest bright region covering at least `minimumAreaFraction` of the picture: its outline, and whether it
    /// runs out of the picture (it reaches the picture's edge along more than a few pixels), or nil. A document
    /// darker than the desk (a dark form on a light desk) is found as the largest dark region when no bright one is.
    public static func locate(grey: [UInt8], width: Int, height: Int, minimumAreaFraction: Double = 0.015) -> Location? {
        precondition(grey.count == width * height, "grey buffer does not match the geometry")
        let factor = max(1, Int((Double(max(width, height)) / Double(workingSize)).rounded(.up)))
        var small = downscaled(grey, width: width, height: height, factor: factor)
        if let found = search(small, factor: factor, minimumAreaFraction: minimumAreaFraction, onlySolid: false) { return found }
        // A dark document on a light desk: the same search on the negative, for a clean sheet of page size only (a
        // phone or a mouse pad is no document).
        small.pixels = small.pixels.map { 255 - $0 }
        return search(small, factor: factor, minimumAreaFraction: max(minimumAreaFraction, 0.08), onlySolid: true)
    }

    /// A region that is not a clean sheet (joined to bright patches of the desk) is taken only when it covers at least
    /// this much of the picture: speckle on a patterned desk never does.
    static let minimumAreaOfUncleanRegion = 0.04

    /// A sheet joined to the desk still has a body: at least this share of its pixels lie wholly inside it (all eight
    /// neighbours in the region too). Bright speckle of a noisy or patterned desk running together into one large
    /// region is strands a pixel or two wide, with almost no such pixels (uniform noise: under 1 %; a page of dense
    /// text at the working size: well over half).
    static let minimumCoreOfUncleanRegion = 0.25

    /// The share of the region's pixels whose eight neighbours all belong to it too.
    static func coreFraction(_ region: [Int], width: Int, height: Int) -> Double {
        guard !region.isEmpty else { return 0 }
        var member = [Bool](repeating: false, count: width * height)
        for index in region { member[index] = true }
        var core = 0
        for index in region {
            let x = index % width, y = index / width
            guard x > 0, y > 0, x < width - 1, y < height - 1 else { continue }
            if member[index - width - 1] && member[index - width] && member[index - width + 1] && member[index - 1]
                && member[index + 1] && member[index + width - 1] && member[index + width] && member[index + width + 1] {
                core += 1
            }
        }
        return Double(core) / Double(region.count)
    }

    /// A region as the search weighs it: its pixels, outline points and rough corners.
    struct Candidate {
        var region: [Int]
        var boundary: [ImagePoint]
        var corners: [ImagePoint]
        /// The region's share of its four-cornered outline: near 1 for a sheet, less for a sheet joined to the desk.
        var solidity: Double
    }

    /// - Parameter onlySolid: take only a clean sheet (the search on the negative, for a dark document).
    static func search(_ small: (pixels: [UInt8], width: Int, height: Int), factor: Int, minimumAreaFraction: Double,
                       onlySolid: Bool) -> Location? {
        // Paper is the brightest thing on the desk and evenly so: halfway from Otsu's split up to the bright class's
        // mean keeps bright patches of a patterned desk from joining the page, while moving the page's own edge
        // by under a pixel. Under a shadow or a lamp's fall-off part of the page is darker than that: lower
        // thresholds join it back, as long as the region stays a solid quadrilateral (joined to the desk, it would
        // not).
        let otsu = otsuThreshold(small.pixels)
        let bright = small.pixels.lazy.filter { Int($0) >= otsu }
        let brightMean = bright.isEmpty ? otsu : bright.reduce(0) { $0 + Int($1) } / max(1, bright.count)
        let high = (otsu + brightMean) / 2
        let minimum = minimumAreaFraction * Double(small.width * small.height)
        var first: Candidate?
        var best: Candidate?
        for threshold in [high, (high + otsu) / 2, otsu, otsu - (high - otsu) / 2] {
            guard let region = largestBrightRegion(small.pixels, width: small.width, height: small.height, threshold: threshold),
                  Double(region.count) >= minimum else { continue }
            // Below the first threshold only a sheet wholly in view is taken: what reaches the picture's edge there is
            // the desk's own texture running together (a page out of view is judged at the first threshold).
            if threshold != high && edgePixels(region, width: small.width, height: small.height) > 0 { continue }
            let boundary = boundaryPoints(region, width: small.width, height: small.height)
            let hull = convexHull(boundary)
            guard hull.count >= 4, let rough = fourCorners(of: hull) else { continue }
            let candidate = Candidate(region: region, boundary: boundary, corners: rough,
                                      solidity: Double(region.count) / max(1, Quadrilateral(corners: rough).area))
            if first == nil { first = candidate }
            if candidate.solidity >= 0.92 && candidate.region.count > (best?.region.count ?? 0) { best = candidate }
        }
        let unclean = onlySolid ? nil : first.flatMap { candidate in
            Double(candidate.region.count) >= minimumAreaOfUncleanRegion * Double(small.width * small.height)
                && coreFraction(candidate.region, width: small.width, height: small.height) >= minimumCoreOfUncleanRegion
                ? candidate : nil
        }
        guard let chosen = best ?? unclean else { return nil }
        let refined = refine(chosen.corners, boundary: chosen.boundary)
        let scale = Double(factor)
        return Location(outline: ordered(refined.map { ImagePoint(x: $0.x * scale, y: $0.y * scale) }),
                        outOfFrame: edgePixels(chosen.region, width: small.width, height: small.height) > 2)
    }

    /// How many of the region's pixels lie on the picture's outermost rows and columns.
    static func edgePixels(_ region: [Int], width: Int, height: Int) -> Int {
        region.reduce(0) { count, index in
            let x = index % width, y = index / width
            return count + (x == 0 || y == 0 || x == width - 1 || y == height - 1 ? 1 : 0)
        }
    }

    // MARK: Steps

    static func downscaled(_ grey: [UInt8], width: Int, height: Int, factor: Int) -> (pixels: [UInt8], width: Int, height: Int) {
        guard factor > 1 else { return (grey, width, height) }
        let smallWidth = width / factor, smallHeight = height / factor
        var out = [UInt8](repeating: 0, count: smallWidth * smallHeight)
        grey.withUnsafeBufferPointer { source in
            for row in 0..<smallHeight {
                for column in 0..<smallWidth {
                    var sum = 0
                    for y in (row * factor)..<(row * factor + factor) {
                        let line = y * width + column * factor
                        for x in 0..<factor { sum += Int(source[line + x]) }
                    }
                    out[row * smallWidth + column] = UInt8(sum / (factor * factor))
                }
            }
        }
        return (out, smallWidth, smallHeight)
    }

    /// Otsu's threshold: the grey level that best separates the histogram into two classes.
    static func otsuThreshold(_ pixels: [UInt8]) -> Int {
        var histogram = [Int](repeating: 0, count: 256)
        for value in pixels { histogram[Int(value)] += 1 }
        let total = Double(pixels.count)
        let sumAll = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) }
        var weightBelow = 0.0, sumBelow = 0.0, best = 0.0, threshold = 128
        for level in 0..<256 {
            weightBelow += Double(histogram[level])
            guard weightBelow > 0, weightBelow < total else { continue }
            sumBelow += Double(level * histogram[level])
            let meanBelow = sumBelow / weightBelow, meanAbove = (sumAll - sumBelow) / (total - weightBelow)
            let between = weightBelow * (total - weightBelow) * (meanBelow - meanAbove) * (meanBelow - meanAbove)
            if between > best { best = between; threshold = level + 1 }
        }
        return threshold
    }

    /// The pixel indices of the largest 4-connected region at or above `threshold` that does not fill the picture
    /// edge to edge (that would be a bright desk, not a document).
    static func largestBrightRegion(_ pixels: [UInt8], width: Int, height: Int, threshold: Int) -> [Int]? {
        var label = [Int32](repeating: 0, count: pixels.count)
        var best: [Int] = []
        var stack: [Int] = []
        var next: Int32 = 0
        for start in 0..<pixels.count where label[start] == 0 && Int(pixels[start]) >= threshold {
            next += 1
            var members: [Int] = []
            var touches = (left: false, right: false, top: false, bottom: false)
            label[start] = next
            stack.append(start)
            while let index = stack.popLast() {
                members.append(index)
                let x = index % width, y = index / width
                if x == 0 { touches.left = true }
                if x == width - 1 { touches.right = true }
                if y == 0 { touches.top = true }
                if y == height - 1 { touches.bottom = true }
                for neighbour in [x > 0 ? index - 1 : -1, x < width - 1 ? index + 1 : -1,
                                  y > 0 ? index - width : -1, y < height - 1 ? index + width : -1]
                where neighbour >= 0 && label[neighbour] == 0 && Int(pixels[neighbour]) >= threshold {
                    label[neighbour] = next
                    stack.append(neighbour)
                }
            }
            let fillsPicture = touches.left && touches.right && touches.top && touches.bottom
            if !fillsPicture && members.count > best.count { best = members }
        }
        return best.isEmpty ? nil : best
    }

    /// The region's outer pixel edges: the left and right ends of each row and the top and bottom ends of each column.
    static func boundaryPoints(_ region: [Int], width: Int, height: Int) -> [ImagePoint] {
        var rowEnds = [(Int, Int)](repeating: (Int.max, -1), count: height)
        var columnEnds = [(Int, Int)](repeating: (Int.max, -1), count: width)
        for index in region {
            let x = index % width, y = index / width
            rowEnds[y] = (min(rowEnds[y].0, x), max(rowEnds[y].1, x))
            columnEnds[x] = (min(columnEnds[x].0, y), max(columnEnds[x].1, y))
        }
        var points: [ImagePoint] = []
        for (y, ends) in rowEnds.enumerated() where ends.1 >= 0 {
            points.append(ImagePoint(x: Double(ends.0), y: Double(y) + 0.5))
            points.append(ImagePoint(x: Double(ends.1 + 1), y: Double(y) + 0.5))
        }
        for (x, ends) in columnEnds.enumerated() where ends.1 >= 0 {
            points.append(ImagePoint(x: Double(x) + 0.5, y: Double(ends.0)))
            points.append(ImagePoint(x: Double(x) + 0.5, y: Double(ends.1 + 1)))
        }
        return points
    }

    /// Andrew's monotone chain.
    static func convexHull(_ points: [ImagePoint]) -> [ImagePoint] {
        let sorted = Set(points).sorted { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y }
        guard sorted.count > 2 else { return sorted }
        func cross(_ o: ImagePoint, _ a: ImagePoint, _ b: ImagePoint) -> Double { (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x) }
        var lower: [ImagePoint] = [], upper: [ImagePoint] = []
        for point in sorted {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], point) <= 0 { lower.removeLast() }
            lower.append(point)
        }
        for point in sorted.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], point) <= 0 { upper.removeLast() }
            upper.append(point)
        }
        return Array(lower.dropLast() + upper.dropLast())
    }

    /// Drops the hull vertex whose removal loses the least area until four remain.
    static func fourCorners(of hull: [ImagePoint]) -> [ImagePoint]? {
        var polygon = hull
        func loss(_ index: Int) -> Double {
            let a = polygon[(index + polygon.count - 1) % polygon.count], b = polygon[index], c = polygon[(index + 1) % polygon.count]
            return abs((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)) / 2
        }
        while polygon.count > 4 {
            let weakest = polygon.indices.min { loss($0) < loss($1) }!
            polygon.remove(at: weakest)
        }
        return polygon.count == 4 ? polygon : nil
    }

    /// Fits a line to the boundary points along each side (away from the corners) and intersects neighbouring lines.
    static func refine(_ corners: [ImagePoint], boundary: [ImagePoint]) -> [ImagePoint] {
        var lines: [(point: ImagePoint, direction: ImagePoint)?] = []
        for side in 0..<4 {
            let a = corners[side], b = corners[(side + 1) % 4]
            let length = a.distance(to: b)
            guard length > 8 else { lines.append(nil); continue }
            let direction = ImagePoint(x: (b.x - a.x) / length, y: (b.y - a.y) / length)
            // The boundary points along the side, in a band around the rough side that widens until it holds the
            // edge: a card's rounded corners can leave the rough corners on their arcs, the side between them up to
            // a corner's radius inside the true edge. Then only the points close to the line that band gave.
            let inBand = { (width: Double) in
                boundary.filter { point in
                    let t = ((point.x - a.x) * direction.x + (point.y - a.y) * direction.y) / length
                    let offset = abs((point.x - a.x) * direction.y - (point.y - a.y) * direction.x)
                    return t > 0.12 && t < 0.88 && offset < width
                }
            }
            let widths = [max(2.5, 0.025 * length), 0.06 * length, 0.1 * length]
            guard let band = widths.lazy.map(inBand).first(where: { Double($0.count) >= max(6, 0.2 * length) }) else {
                lines.append(nil)
                continue
            }
            let first = fitLine(band)
            let near = band.filter { point in
                abs((point.x - first.point.x) * first.direction.y - (point.y - first.point.y) * first.direction.x) < 2
            }
            lines.append(near.count >= 6 ? fitLine(near) : first)
        }
        // The fitted edges are trusted over the rough corner, within 12 % of the longer side: far enough to reach a
        // corner the hull cut off (a card's rounded corner, radius 3.7 % of its length, may leave the rough corner
        // at the arc's end; a page running out of the picture), near enough to reject a bad fit.
        return (0..<4).map { corner in
            let reach = max(6, 0.12 * max(corners[corner].distance(to: corners[(corner + 1) % 4]),
                                          corners[corner].distance(to: corners[(corner + 3) % 4])))
            guard let previous = lines[(corner + 3) % 4], let current = lines[corner],
                  let point = intersection(previous, current), point.distance(to: corners[corner]) < reach else { return corners[corner] }
            return point
        }
    }

    /// Total least squares: the line through the centroid along the points' main direction.
    static func fitLine(_ points: [ImagePoint]) -> (point: ImagePoint, direction: ImagePoint) {
        let n = Double(points.count)
        let mean = ImagePoint(x: points.reduce(0) { $0 + $1.x } / n, y: points.reduce(0) { $0 + $1.y } / n)
        var xx = 0.0, xy = 0.0, yy = 0.0
        for point in points {
            let dx = point.x - mean.x, dy = point.y - mean.y
            xx += dx * dx; xy += dx * dy; yy += dy * dy
        }
        let angle = 0.5 * atan2(2 * xy, xx - yy)
        return (mean, ImagePoint(x: cos(angle), y: sin(angle)))
    }

    static func intersection(_ first: (point: ImagePoint, direction: ImagePoint),
                             _ second: (point: ImagePoint, direction: ImagePoint)) -> ImagePoint? {
        let determinant = first.direction.x * second.direction.y - first.direction.y * second.direction.x
        guard abs(determinant) > 1e-6 else { return nil }
        let dx = second.point.x - first.point.x, dy = second.point.y - first.point.y
        let t = (dx * second.direction.y - dy * second.direction.x) / determinant
        return ImagePoint(x: first.point.x + t * first.direction.x, y: first.point.y + t * first.direction.y)
    }

    /// Clockwise on screen, starting at the corner nearest the picture's top-left.
    static func ordered(_ corners: [ImagePoint]) -> Quadrilateral {
        var signed = 0.0
        for index in 0..<4 {
            let a = corners[index], b = corners[(index + 1) % 4]
            signed += a.x * b.y - b.x * a.y
        }
        let clockwise = signed > 0 ? corners : Array(corners.reversed())
        let first = clockwise.indices.min { clockwise[$0].x + clockwise[$0].y < clockwise[$1].x + clockwise[$1].y }!
        return Quadrilateral(corners: (0..<4).map { clockwise[(first + $0) % 4] })
    }
}

/// Maps a flat rectangle onto a quadrilateral in a picture (a homography) and resamples it: perspective correction.
public struct PerspectiveWarp: Sendable {
    /// Row-major 3×3, mapping output pixel coordinates to picture coordinates.
    let matrix: [Double]

    /// The mapping from a `width` × `height` rectangle onto `quadrilateral`; nil if the corners are degenerate.
    public init?(quadrilateral: Quadrilateral, width: Int, height: Int) {
        let w = Double(width), h = Double(height)
        let from = [ImagePoint(x: 0, y: 0), ImagePoint(x: w, y: 0), ImagePoint(x: w, y: h), ImagePoint(x: 0, y: h)]
        var system = [[Double]]()
        for (source, target) in zip(from, quadrilateral.corners) {
            system.append([source.x, source.y, 1, 0, 0, 0, -target.x * source.x, -target.x * source.y, target.x])
            system.append([0, 0, 0, source.x, source.y, 1, -target.y * source.x, -target.y * source.y, target.y])
        }
        guard let solution = Self.solve(system) else { return nil }
        matrix = solution + [1]
    }

    /// Gaussian elimination with partial pivoting on an n × (n+1) augmented matrix.
    static func solve(_ system: [[Double]]) -> [Double]? {
        var rows = system
        let n = rows.count
        for column in 0..<n {
            let pivot = (column..<n).max { abs(rows[$0][column]) < abs(rows[$1][column]) }!
            guard abs(rows[pivot][column]) > 1e-12 else { return nil }
            rows.swapAt(column, pivot)
            for row in 0..<n where row != column {
                let factor = rows[row][column] / rows[column][column]
                if factor != 0 { for k in column...n { rows[row][k] -= factor * rows[column][k] } }
            }
        }
        return (0..<n).map { rows[$0][n] / rows[$0][$0] }
    }

    /// Where output point (x, y) comes from in the picture.
    public func map(_ x: Double, _ y: Double) -> ImagePoint {
        let m = matrix
        let w = m[6] * x + m[7] * y + m[8]
        return ImagePoint(x: (m[0] * x + m[1] * y + m[2]) / w, y: (m[3] * x + m[4] * y + m[5]) / w)
    }

    /// The corrected `width` × `height` image from packed pixels of `channels` (1 or 3) per pixel, bilinear.
    public func apply(to pixels: [UInt8], width sourceWidth: Int, height sourceHeight: Int, channels: Int,
                      outputWidth: Int, outputHeight: Int) -> [UInt8] {
        var out = [UInt8](repeating: 255, count: outputWidth * outputHeight * channels)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for row in 0..<outputHeight {
                    for column in 0..<outputWidth {
                        let point = map(Double(column) + 0.5, Double(row) + 0.5)
                        let x = point.x - 0.5, y = point.y - 0.5
                        guard x >= 0, y >= 0, x < Double(sourceWidth - 1), y < Double(sourceHeight - 1) else { continue }
                        let x0 = Int(x), y0 = Int(y)
                        let fx = x - Double(x0), fy = y - Double(y0)
                        let topLeft = (y0 * sourceWidth + x0) * channels, bottomLeft = topLeft + sourceWidth * channels
                        let output = (row * outputWidth + column) * channels
                        for channel in 0..<channels {
                            let top = Double(source[topLeft + channel]) * (1 - fx) + Double(source[topLeft + channels + channel]) * fx
                            let bottom = Double(source[bottomLeft + channel]) * (1 - fx) + Double(source[bottomLeft + channels + channel]) * fx
                            target[output + channel] = UInt8(min(255, max(0, top * (1 - fy) + bottom * fy + 0.5)))
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Lifts a photographed page's grey paper to white and its ink to black: a levels stretch between the darkest
/// and the brightest percentiles of its brightness, applied to every channel alike (colour stamps keep their hue).
public enum PhotoEnhancer {
    public static func enhance(_ pixels: [UInt8], channels: Int) -> [UInt8] {
        var histogram = [Int](repeating: 0, count: 256)
        let grey = channels == 3 ? Luminance.grey(fromRGB: pixels) : pixels
        let count = grey.count
        for value in grey { histogram[Int(value)] += 1 }
        func percentile(_ fraction: Double) -> Int {
            var seen = 0
            for level in 0..<256 {
                seen += histogram[level]
                if Double(seen) >= fraction * Double(count) { return level }
            }
            return 255
        }
        let black = percentile(0.01), white = max(black + 16, percentile(0.90))
        let table = (0..<256).map { UInt8(min(255, max(0, ($0 - black) * 255 / (white - black)))) }
        return pixels.map { table[Int($0)] }
    }
}

/// Brightness of packed RGB pixels (ITU-R BT.601 weights), one byte per pixel.
public enum Luminance {
    public static func grey(fromRGB rgb: [UInt8]) -> [UInt8] {
        var grey = [UInt8](repeating: 0, count: rgb.count / 3)
        rgb.withUnsafeBufferPointer { source in
            for index in grey.indices {
                let red = Int(source[index * 3]), green = Int(source[index * 3 + 1]), blue = Int(source[index * 3 + 2])
                grey[index] = UInt8((red * 299 + green * 587 + blue * 114) / 1000)
            }
        }
        return grey
    }
}
