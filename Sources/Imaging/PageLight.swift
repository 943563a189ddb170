import Foundation

/// Evens out the light on a photographed page: a lamp's fall-off, a hand's shadow. The paper's own colour is
/// estimated cell by cell from its brightest pixels (ink is darker than paper, whatever its colour), smoothed, and
/// every channel divided by it — paper becomes evenly white, ink stays as dark against it as it was, and a red stamp
/// stays red (each channel keeps its proportion to the paper under the same light).
public enum PageLight {
    /// The paper's colour over the page, one RGB value per cell of `cell` × `cell` pixels.
    struct Background {
        var cell: Int
        var columns: Int
        var rows: Int
        /// Per cell, r g b.
        var colours: [Double]
        /// The median of the cells' brightness.
        var medianBrightness: Double
    }

    /// Below this median paper brightness (of 255) the page is taken to be dark all over — a dark form, a photo —
    /// and is left as it is: flattening it would turn content into paper.
    static let darkPageBrightness = 100.0

    /// `pixels` (packed RGB) with the light evened out; unchanged when the page is dark all over.
    public static func flatten(_ pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        let background = estimate(pixels, width: width, height: height)
        guard background.medianBrightness >= darkPageBrightness else { return pixels }
        var out = [UInt8](repeating: 0, count: pixels.count)
        let cell = Double(background.cell)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                var paper = [Double](repeating: 0, count: 3)
                for y in 0..<height {
                    // Bilinear between cell centres.
                    let gy = min(max((Double(y) + 0.5) / cell - 0.5, 0), Double(background.rows - 1))
                    let y0 = Int(gy), y1 = min(y0 + 1, background.rows - 1), fy = gy - Double(y0)
                    for x in 0..<width {
                        let gx = min(max((Double(x) + 0.5) / cell - 0.5, 0), Double(background.columns - 1))
                        let x0 = Int(gx), x1 = min(x0 + 1, background.columns - 1), fx = gx - Double(x0)
                        let a = (y0 * background.columns + x0) * 3, b = (y0 * background.columns + x1) * 3
                        let c = (y1 * background.columns + x0) * 3, d = (y1 * background.columns + x1) * 3
                        for channel in 0..<3 {
                            let top = background.colours[a + channel] * (1 - fx) + background.colours[b + channel] * fx
                            let bottom = background.colours[c + channel] * (1 - fx) + background.colours[d + channel] * fx
                            paper[channel] = max(top * (1 - fy) + bottom * fy, 16)
                        }
                        let index = (y * width + x) * 3
                        for channel in 0..<3 {
                            target[index + channel] = UInt8(min(255, Double(source[index + channel]) * 250 / paper[channel] + 0.5))
                        }
                    }
                }
            }
        }
        return out
    }

    /// The paper's colour cell by cell: the mean colour of each cell's brightest sixteenth; cells with no clear paper
    /// in them (a photo, a solid block, a QR code's grey-looking light modules) take their neighbours' colour; then
    /// smoothed.
    static func estimate(_ pixels: [UInt8], width: Int, height: Int) -> Background {
        let cell = max(8, max(width, height) / 16)
        let columns = (width + cell - 1) / cell, rows = (height + cell - 1) / cell
        var colours = [Double](repeating: 0, count: columns * rows * 3)
        var brightness = [Double](repeating: 0, count: columns * rows)
        pixels.withUnsafeBufferPointer { source in
            var histogram = [Int](repeating: 0, count: 256)
            for row in 0..<rows {
                for column in 0..<columns {
                    let xs = (column * cell)..<min(width, column * cell + cell), ys = (row * cell)..<min(height, row * cell + cell)
                    for level in 0..<256 { histogram[level] = 0 }
                    for y in ys {
                        for x in xs {
                            let index = (y * width + x) * 3
                            histogram[(Int(source[index]) * 299 + Int(source[index + 1]) * 587 + Int(source[index + 2]) * 114) / 1000] += 1
                        }
                    }
                    let count = xs.count * ys.count
                    var seen = 0, level = 255
                    while level > 0 && seen + histogram[level] < max(1, count / 16) { seen += histogram[level]; level -= 1 }
                    var sum = [0.0, 0.0, 0.0], members = 0.0
                    for y in ys {
                        for x in xs {
                            let index = (y * width + x) * 3
                            let grey = (Int(source[index]) * 299 + Int(source[index + 1]) * 587 + Int(source[index + 2]) * 114) / 1000
                            guard grey >= level else { continue }
                            sum[0] += Double(source[index]); sum[1] += Double(source[index + 1]); sum[2] += Double(source[index + 2])
                            members += 1
                        }
                    }
                    let cellIndex = row * columns + column
                    for channel in 0..<3 { colours[cellIndex * 3 + channel] = sum[channel] / max(members, 1) }
                    brightness[cellIndex] = (sum[0] * 0.299 + sum[1] * 0.587 + sum[2] * 0.114) / max(members, 1)
                }
            }
        }
        // A cell much darker than the brightest near it holds no paper: it takes the colour of the cells that do.
        var reliable = [Bool](repeating: true, count: columns * rows)
        for row in 0..<rows {
            for column in 0..<columns {
                var brightest = 0.0
                for y in max(0, row - 2)...min(rows - 1, row + 2) {
                    for x in max(0, column - 2)...min(columns - 1, column + 2) { brightest = max(brightest, brightness[y * columns + x]) }
                }
                reliable[row * columns + column] = brightness[row * columns + column] >= 0.85 * brightest
            }
        }
        for _ in 0..<max(columns, rows) where reliable.contains(false) {
            var next = reliable
            for index in reliable.indices where !reliable[index] {
                let row = index / columns, column = index % columns
                var sum = [0.0, 0.0, 0.0], members = 0.0
                for y in max(0, row - 1)...min(rows - 1, row + 1) {
                    for x in max(0, column - 1)...min(columns - 1, column + 1) where reliable[y * columns + x] {
                        for channel in 0..<3 { sum[channel] += colours[(y * columns + x) * 3 + channel] }
                        members += 1
                    }
                }
                guard members > 0 else { continue }
                for channel in 0..<3 { colours[index * 3 + channel] = sum[channel] / members }
                next[index] = true
            }
            if next == reliable { break }
            reliable = next
        }
        // A 3 × 3 mean: the light changes slowly.
        var smoothed = colours
        for row in 0..<rows {
            for column in 0..<columns {
                var sum = [0.0, 0.0, 0.0], members = 0.0
                for y in max(0, row - 1)...min(rows - 1, row + 1) {
                    for x in max(0, column - 1)...min(columns - 1, column + 1) {
                        for channel in 0..<3 { sum[channel] += colours[(y * columns + x) * 3 + channel] }
                        members += 1
                    }
                }
                for channel in 0..<3 { smoothed[(row * columns + column) * 3 + channel] = sum[channel] / members }
            }
        }
        let median = brightness.sorted()[brightness.count / 2]
        return Background(cell: cell, columns: columns, rows: rows, colours: smoothed, medianBrightness: median)
    }
}

/// What can make a capture unfit to keep, measured on the corrected page.
public enum PageQuality {
    /// Sharpness: the steepest edges' slope (the mean of the top 0.5 % of brightness steps between neighbouring
    /// pixels) over the page's contrast, in the direction where it is least (motion blur smears one direction only);
    /// nil for a page with too little ink to tell. A sharp print edge steps from ink to paper within a pixel or two
    /// (near 0.5 or more); a blurred one over many.
    public static func sharpness(grey: [UInt8], width: Int, height: Int) -> Double? {
        guard width > 8, height > 8 else { return nil }
        var histogram = [Int](repeating: 0, count: 256)
        for value in grey { histogram[Int(value)] += 1 }
        func percentile(_ fraction: Double) -> Int {
            var seen = 0
            for level in 0..<256 {
                seen += histogram[level]
                if Double(seen) >= fraction * Double(grey.count) { return level }
            }
            return 255
        }
        let contrast = Double(percentile(0.95) - percentile(0.01))
        guard contrast >= 60 else { return nil }
        // Steps across, down and along both diagonals (a diagonal step spans 1.41 pixels).
        let offsets = [1, width, width + 1, width - 1]
        let spans = [1.0, 1.0, 2.0.squareRoot(), 2.0.squareRoot()]
        var steps = [[Int]](repeating: [Int](repeating: 0, count: 256), count: 4)
        var total = 0
        grey.withUnsafeBufferPointer { pixels in
            for y in stride(from: 1, to: height - 1, by: 1) {
                for x in stride(from: 1, to: width - 1, by: 1) {
                    let index = y * width + x
                    for direction in 0..<4 {
                        steps[direction][abs(Int(pixels[index + offsets[direction]]) - Int(pixels[index - offsets[direction]])) / 2] += 1
                    }
                    total += 1
                }
            }
        }
        // Per direction, the mean of the steepest 0.5 %; the page is as sharp as its least sharp direction.
        return (0..<4).map { direction in
            var wanted = max(1, total / 200), sum = 0, taken = 0
            for level in stride(from: 255, through: 0, by: -1) where wanted > 0 {
                let take = min(wanted, steps[direction][level])
                sum += take * level
                taken += take
                wanted -= take
            }
            return Double(sum) / Double(max(taken, 1)) / spans[direction] / contrast
        }.min()
    }

    /// The share of the page burnt out by a reflection: pixels at full brightness in every channel, well above the
    /// paper's own shade (its median). Paper exposed at full brightness all over cannot tell: 0.
    public static func glare(rgb: [UInt8], width: Int, height: Int) -> Double {
        var histogram = [Int](repeating: 0, count: 256)
        for value in Luminance.grey(fromRGB: rgb) { histogram[Int(value)] += 1 }
        var seen = 0, median = 0
        while median < 255 && seen + histogram[median] < width * height / 2 { seen += histogram[median]; median += 1 }
        guard median < 245 else { return 0 }
        var burnt = 0
        for index in 0..<(width * height) where rgb[index * 3] >= 252 && rgb[index * 3 + 1] >= 252 && rgb[index * 3 + 2] >= 252 { burnt += 1 }
        return Double(burnt) / Double(max(1, width * height))
    }
}
