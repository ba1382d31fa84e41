/// The one list of golden producers (one file each in Golden/).
public enum GoldenRegistry {
    public static var producers: [any GoldenProducer] {
        [QuantizerTablesGolden(), CheckerResultsGolden(), EngineOfficialGolden(), FPMetricsGolden(), CalibrationSnapshotGolden()]
    }
}
