import Foundation
import Testing
@testable import IDCard
import Simulators

/// The card photo goes through a vendor library loaded at run time. No real vendor library can ship with the
/// tests, so a stand-in with the same C interface is compiled here: it proves the loading, the call, the bitmap
/// handling and the failure paths — not WLT decoding, which only a vendor can do.
@Suite(.serialized) struct PhotoDecoderTests {
    /// A stand-in `unpack`: a bottom-up 102 × 126 BMP, top half red and bottom half blue, whose first pixel's green
    /// is the WLT's first byte (so the input demonstrably reaches the library). `fail` makes it refuse (licence).
    static func vendorLibrary(fail: Bool = false) async throws -> String {
        let directory = try makeTemporaryDirectory("vendor\(fail)")
        let source = """
            #include <string.h>
            static void put32(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
            int unpack(char *wlt, char *bmp, int save) {
                (void)save;
                if (\(fail ? 1 : 0)) return -2;
                unsigned char *b = (unsigned char *)bmp;
                int w = 102, h = 126, stride = 308;
                memset(b, 0, 54 + stride * h);
                b[0] = 'B'; b[1] = 'M'; put32(b + 2, 54 + stride * h); put32(b + 10, 54); put32(b + 14, 40);
                put32(b + 18, w); put32(b + 22, h); b[26] = 1; b[28] = 24;
                for (int row = 0; row < h; row++)          /* row 0 in memory is the bottom of the picture */
                    for (int x = 0; x < w; x++) {
                        unsigned char *p = b + 54 + row * stride + x * 3;
                        if (row < h / 2) { p[0] = 255; } else { p[2] = 255; }
                    }
                b[54 + (h - 1) * stride + 1] = (unsigned char)wlt[0];
                return 1;
            }
            """
        try source.write(toFile: "\(directory)/wlt.c", atomically: true, encoding: .utf8)
        let compiled = try await run("/usr/bin/env", ["clang", "-shared", "-fPIC", "-o", "\(directory)/libwlt2bmp.so", "\(directory)/wlt.c"])
        #expect(compiled.status == 0, "\(compiled.standardError)")
        return "\(directory)/libwlt2bmp.so"
    }

    @Test func decodesThroughTheVendorLibrary() async throws {
        let decoder = try await VendorPhotoDecoder(libraryPath: try Self.vendorLibrary())
        var wlt = SpecimenCards.resident.photo
        wlt[0] = 0x37
        let jpeg = try await decoder.decode(wlt: wlt)
        #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]) && jpeg.suffix(2) == [0xFF, 0xD9])
        // What the library wrote, turned the right way up and into RGB.
        var bitmap = [UInt8](repeating: 0, count: VendorPhotoDecoder.bitmapSize)
        bitmap.replaceSubrange(0..<2, with: [0x42, 0x4D])
        for (offset, value) in [(10, 54), (18, 102), (22, 126), (28, 24)] { bitmap[offset] = UInt8(value) }
        for row in 0..<126 { for x in 0..<102 { bitmap[54 + row * 308 + x * 3 + (row < 63 ? 0 : 2)] = 255 } }
        let (rgb, width, height) = try VendorPhotoDecoder.pixels(fromBitmap: bitmap)
        #expect(width == 102 && height == 126)
        #expect(Array(rgb[0..<3]) == [255, 0, 0])  // top-left: red (the last row in memory)
        #expect(Array(rgb[(125 * 102) * 3..<(125 * 102) * 3 + 3]) == [0, 0, 255])  // bottom-left: blue
    }

    @Test func aMissingLibraryIsNamed() {
        #expect {
            _ = try VendorPhotoDecoder(libraryPath: "/nonexistent/libwlt2bmp.so")
        } throws: { error in
            guard case .load(let call, let library, _) = error as? PhotoDecoderError else { return false }
            return call == "dlopen" && library == "/nonexistent/libwlt2bmp.so"
        }
    }

    @Test func aRefusingLibraryLeavesThePhotoUndecoded() async throws {
        let decoder = try await VendorPhotoDecoder(libraryPath: try Self.vendorLibrary(fail: true))
        await #expect(throws: PhotoDecoderError.vendorFailed(library: decoder.libraryPath, code: -2)) {
            _ = try await decoder.decode(wlt: SpecimenCards.resident.photo)
        }
    }

    @Test func notABitmap() {
        #expect(throws: PhotoDecoderError.self) { _ = try VendorPhotoDecoder.pixels(fromBitmap: [UInt8](repeating: 0, count: 100)) }
    }
}
