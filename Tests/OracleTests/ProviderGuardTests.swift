import GSLOracle
import Testing

/// libgsl must run on its own libgslcblas, never on OpenBLAS (swift-toolchain.md §5).
@Test func oracleUsesGSLCBLASNotOpenBLAS() {
    _ = try? GSL.matmul(OracleMatrix(rows: 1, cols: 1, data: [1]), OracleMatrix(rows: 1, cols: 1, data: [1]))
    let lib = GSL.provider(of: "cblas_dgemm") ?? "<not found>"
    #expect(lib.contains("libgslcblas"), "cblas_dgemm is provided by \(lib)")
}
