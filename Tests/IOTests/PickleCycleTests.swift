import Foundation
import Testing
import SRIO

/// A pickle whose list contains itself (via the memo) is refused with one clear error. Before this was refused,
/// libFuzzer + LeakSanitizer found that such input leaked its boxes (ARC never frees a cycle):
/// `fuzz-leak-cycle.pkl` is that fuzzer input, kept as a regression case. `fuzz-leak-unreachable-cycle.pkl` (found by CI's
/// fuzz run) builds a list that contains itself, pops it, and returns an empty tuple: the cycle is unreachable from the
/// result, so it must be found among every container built, not only the result's.
@Suite("Pickle cycles")
struct PickleCycleTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test(arguments: ["cyclic-list.pkl", "fuzz-leak-cycle.pkl", "fuzz-leak-unreachable-cycle.pkl"])
    func cyclicPickleIsRefused(file: String) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(file)))
        do {
            _ = try RestrictedUnpickler.load(bytes)
            Issue.record("\(file): a cyclic pickle was accepted")
        } catch let e as IOError {
            if file != "fuzz-leak-cycle.pkl" { #expect(e.message.contains("contains itself"), "\(e.message)") }
        }
    }

    /// `[x, x]` shares one list twice: a DAG, not a cycle — still accepted.
    @Test func sharedButAcyclicIsAccepted() throws {
        // pickle.dumps([l, l], protocol=2) with l = []: PROTO 2, EMPTY_LIST, BINPUT 0, MARK, EMPTY_LIST, BINPUT 1, BINGET 1, APPENDS, STOP
        let bytes: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x28, 0x5D, 0x71, 0x01, 0x68, 0x01, 0x65, 0x2E]
        let v = try RestrictedUnpickler.load(bytes)
        guard case .list(let outer) = v else { Issue.record("not a list"); return }
        #expect(outer.items.count == 2)
    }
}
