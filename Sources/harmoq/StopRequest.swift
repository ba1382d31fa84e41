import Dispatch
import Foundation

/// SIGINT/SIGTERM turned into a request to stop at the next safe point (for `harmoq calibrate`: after the current
/// site, once its checkpoint is written). The signals no longer end the process, so no file is ever left half-written;
/// a second signal only repeats the notice.
final class StopRequest: @unchecked Sendable {
    static let shared = StopRequest()
    private let lock = NSLock()
    private var signalNumber: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// The first signal received, if any.
    var received: Int32? { lock.lock(); defer { lock.unlock() }; return signalNumber }

    /// Installs the handlers (once); `notice` is printed to stderr on every signal.
    func install(notice: String) {
        lock.lock(); defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [self] in
                lock.lock(); if signalNumber == nil { signalNumber = sig }; lock.unlock()
                FileHandle.standardError.write(Data(((sig == SIGINT ? "SIGINT" : "SIGTERM") + ": " + notice + "\n").utf8))
            }
            src.resume()
            sources.append(src)
        }
    }
}
