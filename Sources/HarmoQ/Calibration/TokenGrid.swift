/// How the rows of a layer's input are laid out as images: `images` images of `height`×`width` tokens each,
/// raster order (row-major within an image), so row = (image·height + y)·width + x.
public struct TokenGrid: Codable, Sendable, Equatable, Hashable {
    public var images: Int
    public var height: Int
    public var width: Int

    public init(images: Int, height: Int, width: Int) throws {
        guard images > 0, height > 0, width > 0 else {
            throw QuantError("TokenGrid needs positive images/height/width, got \(images)×\(height)×\(width)")
        }
        self.images = images
        self.height = height
        self.width = width
    }

    public var tokens: Int { images * height * width }
}
