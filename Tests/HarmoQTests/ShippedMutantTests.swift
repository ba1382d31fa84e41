import Foundation
import HarmoQ
import Testing

/// The test seam of `ShippedMutant`: off by default, on only inside `withActive` and only on the activating thread.
@Suite("ShippedMutant seam")
struct ShippedMutantTests {
    @Test func offOutsideAndOnInside() throws {
        #expect(ShippedMutant.active == .none)
        let q = try Quantizer(bits: 8, lower: -127.5, upper: 127.5)
        #expect(q.code(-1.5) == -2)   // half to even
        ShippedMutant.withActive(.quantizerRoundHalfUp) {
            #expect(ShippedMutant.active == .quantizerRoundHalfUp)
            #expect(q.code(-1.5) == -1)   // ⌊−1.5 + ½⌋ = −1: the mutant is live in the shipped quantizer
        }
        #expect(ShippedMutant.active == .none)
        #expect(q.code(-1.5) == -2)
    }

    @Test func otherThreadsNeverSeeIt() {
        final class Box: @unchecked Sendable { var seen: ShippedMutant = .adamBeta2IsBeta1 }
        let box = Box()
        ShippedMutant.withActive(.adamBeta2IsBeta1) {
            let done = DispatchSemaphore(value: 0)
            let t = Thread { box.seen = ShippedMutant.active; done.signal() }
            t.start()
            done.wait()
        }
        #expect(box.seen == .none)
    }
}
