// The `anomaly-clustering` executable: wiring only; the commands live in CLI/.
AnomalyClustering.main()
