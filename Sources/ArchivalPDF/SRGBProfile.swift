import Foundation

/// An sRGB ICC profile (version 2.1, display class), built from the standard's numbers rather than shipped as a
/// file: the primaries adapted to D50 as ICC requires, the D50 white point, and the sRGB tone curve as a
/// 1024-entry table. It is the output intent's destination profile in every archival PDF.
public enum SRGBProfile {
    /// The profile's bytes.
    public static let bytes: [UInt8] = build()

    private static func build() -> [UInt8] {
        let description = "sRGB IEC61966-2.1"
        var descriptionTag = Array("desc".utf8) + [0, 0, 0, 0] + be32(description.utf8.count + 1) + Array(description.utf8) + [0]
        descriptionTag += [UInt8](repeating: 0, count: 4 + 4 + 2 + 1 + 67)  // Unicode and ScriptCode parts, empty
        let copyrightTag = Array("text".utf8) + [0, 0, 0, 0] + Array("No copyright, use freely".utf8) + [0]
        func xyz(_ x: Double, _ y: Double, _ z: Double) -> [UInt8] {
            Array("XYZ ".utf8) + [0, 0, 0, 0] + s15Fixed16(x) + s15Fixed16(y) + s15Fixed16(z)
        }
        var curve = Array("curv".utf8) + [0, 0, 0, 0] + be32(1024)
        for index in 0..<1024 {
            let encoded = Double(index) / 1023
            let linear = encoded <= 0.04045 ? encoded / 12.92 : pow((encoded + 0.055) / 1.055, 2.4)
            let value = UInt16((linear * 65535).rounded())
            curve += [UInt8(value >> 8), UInt8(value & 0xFF)]
        }
        let tags: [(String, [UInt8])] = [
            ("desc", descriptionTag), ("cprt", copyrightTag),
            ("wtpt", xyz(0.9642, 1.0, 0.8249)),
            ("rXYZ", xyz(0.4361, 0.2225, 0.0139)), ("gXYZ", xyz(0.3851, 0.7169, 0.0971)), ("bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            ("rTRC", curve),
        ]
        // gTRC and bTRC share rTRC's data, as ICC allows.
        let tableSize = 4 + (tags.count + 2) * 12
        var offset = 128 + tableSize
        var table = be32(tags.count + 2)
        var data: [UInt8] = []
        var curveOffset = 0
        for (signature, body) in tags {
            table += Array(signature.utf8) + be32(offset) + be32(body.count)
            if signature == "rTRC" { curveOffset = offset }
            var padded = body
            while padded.count % 4 != 0 { padded.append(0) }
            data += padded
            offset += padded.count
        }
        for signature in ["gTRC", "bTRC"] { table += Array(signature.utf8) + be32(curveOffset) + be32(curve.count) }
        let size = 128 + table.count + data.count
        var header = be32(size) + [0, 0, 0, 0] + [0x02, 0x10, 0, 0] + Array("mntr".utf8) + Array("RGB ".utf8) + Array("XYZ ".utf8)
        header += [0x07, 0xEA, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]  // 2026-01-01 00:00:00
        header += Array("acsp".utf8) + [UInt8](repeating: 0, count: 4 + 4 + 4 + 4 + 8) + be32(0)
        header += s15Fixed16(0.9642) + s15Fixed16(1.0) + s15Fixed16(0.8249)
        header += [UInt8](repeating: 0, count: 4 + 16 + 28)
        precondition(header.count == 128)
        return header + table + data
    }

    private static func be32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func s15Fixed16(_ value: Double) -> [UInt8] {
        let fixed = Int32((value * 65536).rounded())
        return be32(Int(UInt32(bitPattern: fixed)))
    }
}
