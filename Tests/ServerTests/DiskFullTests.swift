// The job database running out of room, without root or a small file system: `PRAGMA max_page_count` on the
// service's writer connection makes SQLite fail every write that needs a new page with SQLITE_FULL, exactly
// as it reports a write's ENOSPC (tools/disk_full_test.sh does the same on a real 8 MiB tmpfs). An upload whose
// job cannot be recorded is a 507 that leaves nothing behind; a job whose results cannot be written waits
// for room instead of staying `running` with no worker behind it; neither crashes nor corrupts the database.
import Foundation
import XCTest

@testable import Server

final class DiskFullTests: XCTestCase {
    /// Caps the job database at the pages it has now, so that any write needing one more page fails with
    /// SQLITE_FULL; `nil` lifts the cap ("space freed").
    private func capDatabase(_ service: TestService, atCurrentSize: Bool) throws {
        try service.service.store.database.write { db in
            let pages: Int = atCurrentSize ? try db.fetchOne("PRAGMA page_count")![0] : 1 << 30
            // PRAGMA values cannot be bound; `pages` is an integer computed here.
            try db.execute("PRAGMA max_page_count = \(pages)")
        }
    }

    private func jobCount(_ service: TestService) throws -> Int {
        try service.service.store.database.read { db in try db.fetchOne("SELECT count(*) FROM jobs")![0] }
    }

    private func integrityCheck(_ service: TestService) throws -> String? {
        try service.service.store.database.read { db in try db.fetchOne("PRAGMA integrity_check")?[0] }
    }

    /// Before the fix: 500 `storage_error` with SQLite's message and the SQL ("… while executing `COMMIT`").
    func testAJobTheDatabaseHasNoRoomForIs507AndLeavesNothingBehind() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        // Sixty image rows need pages the capped database cannot add.
        let image = try fixtureImage("pillow_gray_64x48.png")
        let parts = (0..<60).map { FormPart(name: "images", filename: "good/\($0).png", data: image) }
        try capDatabase(service, atCurrentSize: true)

        let refused = try service.post(parts)
        XCTAssertEqual(refused.status, 507, refused.bodyText)
        let error = try XCTUnwrap(TestService.object(refused)["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "insufficient_storage")
        XCTAssertEqual(error["message"] as? String, "the server's disk is full while recording the job; nothing was kept")
        XCTAssertEqual(service.storedImages, [], "the staged images were removed")
        XCTAssertEqual(try jobCount(service), 0)
        let bodies = try FileManager.default.contentsOfDirectory(atPath: service.dataDirectory.appendingPathComponent("tmp").path)
        XCTAssertEqual(bodies, [], "the request body was removed")
        XCTAssertEqual(try integrityCheck(service), "ok")

        // Room again: the same upload is accepted; the server kept serving throughout.
        try capDatabase(service, atCurrentSize: false)
        let accepted = try service.post(parts)
        XCTAssertEqual(accepted.status, 202, accepted.bodyText)
        XCTAssertEqual(service.storedImages.count, 60)
    }

    /// Before the fix: `finish` failed with SQLITE_FULL and the job failed as `internal_error` with SQLite's
    /// message, its computed results thrown away. On a really full disk (tools/disk_full_test.sh) recording
    /// the failure needed room too, failed silently, and the job stayed `running` with no worker behind it
    /// until the next restart.
    func testResultsWaitForRoomInsteadOfStrandingTheJob() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        // The job's rows fit in the pages the fresh database has; its six α blobs (28 × 28 floats each) need
        // new ones.
        try capDatabase(service, atCurrentSize: true)
        let posted = try service.post(try twoGroupParts())
        XCTAssertEqual(posted.status, 202, posted.bodyText)
        let id = try XCTUnwrap(TestService.object(posted)["id"] as? String)

        // Wait until the worker reached its final write, then give it time to fail at least once.
        let deadline = Date().addingTimeInterval(120)
        var job: [String: Any] = [:]
        while Date() < deadline {
            job = try TestService.object(try service.request("GET", "/v1/jobs/\(id)"))
            if job["stage"] as? String == "clustering" || job["status"] as? String != "running" && job["status"] as? String != "queued" { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 1)
        job = try TestService.object(try service.request("GET", "/v1/jobs/\(id)"))
        XCTAssertEqual(job["status"] as? String, "running", "waiting for room, neither failed nor finished: \(job)")
        XCTAssertEqual(try service.service.store.assignments(jobID: id), [], "no results while the database is full")

        try capDatabase(service, atCurrentSize: false)
        let (finished, _) = try service.waitForJob(id, timeout: 60)
        XCTAssertEqual(finished["status"] as? String, "succeeded", "\(finished)")
        XCTAssertEqual(finished["attempt"] as? Int, 1, "the results computed before were written; no re-run")
        let clusters = try TestService.object(try service.request("GET", "/v1/jobs/\(id)/clusters"))
        XCTAssertEqual((clusters["assignments"] as? [[String: Any]])?.count, twoGroupImages.count)
        XCTAssertEqual(try integrityCheck(service), "ok")
    }

    /// Before the fix: 507 "… the job was not deleted" at 100 % full (tools/disk_full_test.sh, real tmpfs),
    /// although deleting jobs is how a user frees space. Deletes made to fail as on a full disk
    /// (`testDeletesFailingAsDiskFull`): the job's image files go first, then the delete is tried once more.
    func testADeleteThatFindsTheDiskFullRemovesTheImagesFirstThenRetries() throws {
        _ = try weightsDirectoryOrSkip()
        for failures in [1, 2] {
            let service = try TestService { $0.testDeletesFailingAsDiskFull = failures }
            let posted = try service.post(try twoGroupParts() + [FormPart(name: "options", data: Array(#"{"mode": "average"}"#.utf8))])
            XCTAssertEqual(posted.status, 202, posted.bodyText)
            let id = try XCTUnwrap(TestService.object(posted)["id"] as? String)
            XCTAssertEqual(try service.waitForJob(id).job["status"] as? String, "succeeded")
            XCTAssertEqual(service.storedImages.count, twoGroupImages.count)

            let deleted = try service.request("DELETE", "/v1/jobs/\(id)")
            XCTAssertEqual(service.storedImages, [], "the image files go in either case (failures \(failures))")
            if failures == 1 {  // the retry after freeing finds room
                XCTAssertEqual(deleted.status, 204, deleted.bodyText)
                XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)").status, 404)
            } else {  // it does not: 507, saying what happened, and the job is still listed
                XCTAssertEqual(deleted.status, 507, deleted.bodyText)
                let error = try XCTUnwrap(TestService.object(deleted)["error"] as? [String: Any])
                XCTAssertEqual(error["message"] as? String, "the server's disk is full while deleting job \(id); its \(twoGroupImages.count) image files were removed to make room, but the job is still listed; try again once space is freed")
                XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)").status, 200)
                XCTAssertEqual(try service.request("DELETE", "/v1/jobs/\(id)").status, 204)  // room again
                XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)").status, 404)
            }
            XCTAssertEqual(try integrityCheck(service), "ok")
        }
    }

    /// Found by tools/disk_full_test.sh: restarted on a full disk, the service said only "cannot start: SQLite
    /// error 10 (disk I/O error, extended 4874): disk I/O error - while executing `PRAGMA journal_mode = WAL`".
    func testAStoreThatCannotOpenOnAFullDiskSaysWhy() {
        let error = DatabaseError(extendedCode: 4874, message: "disk I/O error", sql: "PRAGMA journal_mode = WAL")
        let full = Service.explainingFullDisk(error, dataDirectory: "/srv/data", freeBytes: 0)
        XCTAssertEqual(full.message, "disk I/O error; the disk holding /srv/data is full (0 bytes free)")
        XCTAssertEqual(full.extendedCode, 4874)
        XCTAssertEqual(Service.explainingFullDisk(error, dataDirectory: "/srv/data", freeBytes: 1 << 30), error)
        XCTAssertEqual(Service.explainingFullDisk(error, dataDirectory: "/srv/data", freeBytes: nil), error)
    }
}
