import Foundation
import Testing
import SRIO
import HarmoQ

@Test func pngRoundTripIsLossless() throws {
    var rng = SplitMix64(seed: 3)
    for (w, h) in [(1, 1), (3, 2), (17, 9)] {
        let img = try RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let path = NSTemporaryDirectory() + "harmoq-io-roundtrip-\(w)x\(h)-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGCodec.write(img, path: path)
        #expect(try PNGCodec.read(path: path) == img)
    }
    #expect(throws: IOError.self) { try PNGCodec.encode(RGBImage(width: 0, height: 0, pixels: [])) }
}

@Test func pngColourTypesConvertLikeOpenCV() throws {
    let rgb = try PNGCodec.read(path: SharedData.fixture("rgb-3x2.png"))
    #expect(rgb.width == 3 && rgb.height == 2)
    #expect(Array(rgb.pixels[0..<6]) == [0, 100, 200, 10, 101, 200])   // (x=0,y=0), (x=1,y=0)
    // 16-bit: the high byte of each sample (OpenCV IMREAD_COLOR behaviour).
    let p16 = try PNGCodec.read(path: SharedData.fixture("rgb16-2x2.png"))
    #expect(Array(p16.pixels[0..<3]) == [0x12, 0xAB, 0x00])
    // Palette with tRNS: looked up, alpha dropped.
    let pal = try PNGCodec.read(path: SharedData.fixture("palette-3x1.png"))
    #expect(pal.pixels == [255, 0, 0, 0, 255, 0, 1, 2, 3])
    // Gray + alpha: gray expanded to 3 equal channels, alpha dropped (not composited).
    let ga = try PNGCodec.read(path: SharedData.fixture("gray-alpha-2x1.png"))
    #expect(ga.pixels == [7, 7, 7, 250, 250, 250])
}

@Test(.enabled(if: SharedData.available, "needs ../shared"))
func grayscaleSet14BridgeHasThreeEqualChannels() throws {
    let img = try PNGCodec.read(path: SharedData.path("data/Set14/HR/bridge.png"))
    #expect(img.width == 512 && img.height == 512)
    let px = img.pixels
    var unequal = 0
    for i in stride(from: 0, to: px.count, by: 3) where px[i] != px[i + 1] || px[i] != px[i + 2] { unequal += 1 }
    #expect(unequal == 0)
}

@Test(.enabled(if: SharedData.available, "needs ../shared"))
func t91BitmapsDecode() throws {
    let dir = SharedData.path("data/train/T91")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".bmp") }
    #expect(names.count == 91)
    let t1 = try RGBImage.read(path: dir + "/t1.bmp")
    #expect(t1.width > 0 && t1.height > 0)
    // Not all one colour, and not a BGR/RGB-swapped copy of itself (sanity only).
    #expect(Set(t1.pixels).count > 50)
}

@Test(arguments: [
    ("truncated.png", "truncated"),
    ("crc-error.png", "CRC"),
    ("huge-dimensions.png", "1000000x1000000 exceed"),
    ("truncated.bmp", "truncated"),
])
func hostileImagesGiveOneClearError(file: String, expected: String) {
    #expect { _ = try RGBImage.read(path: SharedData.fixture(file)) } throws: { e in
        guard let io = e as? IOError else { return false }
        print("\(file): \(io.message)")
        return io.message.contains(expected) && io.message.contains(file)
    }
}

@Test func tensorConversionRoundsHalfToEvenAndClamps() throws {
    // 0.5/255·255 = 0.5 → 0 (even), 1.5/255 → 2, 2.5/255 → 2; negatives, NaN → 0; > 1 → 255.
    let vals: [Float] = [0.5 / 255, 1.5 / 255, 2.5 / 255, -3, .nan, 7, 1, 0.2]
    let t = Tensor(shape: [1, 3, 1, 8], data: vals + vals + vals)
    let img = try RGBImage(tensor: t)
    let r = stride(from: 0, to: 24, by: 3).map { img.pixels[$0] }
    #expect(r == [0, 2, 2, 0, 0, 255, 255, 51])
    // uint8 → tensor → uint8 is the identity.
    let all = try RGBImage(width: 256, height: 1, pixels: (0..<768).map { UInt8($0 / 3) })
    #expect(try RGBImage(tensor: all.toTensor()) == all)
    #expect(throws: IOError.self) { try RGBImage(tensor: Tensor(shape: [1, 4, 2, 2], data: [Float](repeating: 0, count: 16))) }
}
