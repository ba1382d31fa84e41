import Testing
import HarmoQ

/// Bad input gives a clear error naming the problem; nothing traps.
@Suite("Quantizer bad input")
struct QuantizerInputTests {
    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "" } catch { return "\(error)" }
    }

    @Test func bitsOutOfRange() {
        #expect(message { try Quantizer(bits: 0, lower: -1, upper: 1) }.contains("bits must be in 1…16"))
        #expect(message { try Quantizer(bits: 17, lower: -1, upper: 1) }.contains("got 17"))
    }

    @Test func boundsOrderAndFiniteness() {
        #expect(message { try Quantizer(bits: 4, lower: 1, upper: 1) }.contains("lower < upper"))
        #expect(message { try Quantizer(bits: 4, lower: 2, upper: 1) }.contains("lower < upper"))
        #expect(message { try Quantizer(bits: 4, lower: -.infinity, upper: 1) }.contains("finite"))
        #expect(message { try Quantizer(bits: 4, lower: .nan, upper: 1) }.contains("finite"))
    }

    @Test func nanAndInfInputs() {
        #expect(message { try Quantizer.validate([1, .nan], what: "act") }.contains("element 1 is nan"))
        #expect(message { try Observer.minMax([0, .infinity]) }.contains("element 1 is inf"))
        #expect(message { try Observer.dobi([], bits: 4) }.contains("empty tensor"))
        #expect(message { try Observer.percentile([1, 2], 30) }.contains("(50, 100]"))
    }

    @Test func mismatchedShapes() throws {
        let q = try Quantizer(bits: 4, lower: -1, upper: 1)
        let cq = try ChannelQuantizer(quantizers: [q, q], axis: 0)
        #expect(message { try cq.fakeQuant([1, 2, 3], shape: [2, 2]) }.contains("holds 4 elements, data has 3"))
        #expect(message { try cq.fakeQuant([1, 2, 3], shape: [3, 1]) }.contains("3 channels on axis 0"))
        #expect(message { try cq.fakeQuant([1, 2], shape: [2]) }.isEmpty)
        #expect(message { try ChannelQuantizer(quantizers: [], axis: 0) }.contains("at least one"))
    }

    @Test func nanInputNeverTraps() throws {
        let q = try Quantizer(bits: 4, lower: -1, upper: 1)
        #expect(q.code(.nan) == 0)
        #expect(q.code(.infinity) == q.codeMax)
        #expect(q.code(-.infinity) == q.codeMin)
    }
}
