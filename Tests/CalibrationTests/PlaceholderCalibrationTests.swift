import Testing

@Test func CalibrationTestsBuilds() { #expect(Bool(true)) }
