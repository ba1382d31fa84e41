/// Human-readable layout of the matrix a hook receives for a site (used by `harmoq inspect`).
public enum SiteLayout {
    public static func describe(_ site: Site, architecture: Architecture) -> String {
        switch site.kind {
        case let .linear(i, _):
            return "[tokens, \(i)] input rows in token order l = h*W + w"
        case .matmulOperand:
            let channelAttention = architecture == .datLight && site.name.contains(".attn.") && !site.name.contains(".attns.")
            if channelAttention {
                if site.name.hasSuffix(".probs") { return "[heads*10, 10] channel-attention probabilities, row = head*10 + i" }
                return "[tokens, heads*10] token-major, channel = head*10 + d (q, k L2-normalised over tokens)"
            }
            if site.name.hasSuffix(".probs") {
                return "[windows*heads*N, N] post-softmax probabilities, N tokens per window"
            }
            return "[windows*heads*N, 10] window-major, then head, then token in window"
        }
    }
}
