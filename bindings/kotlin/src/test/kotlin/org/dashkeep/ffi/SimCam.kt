package org.dashkeep.ffi

import java.io.File
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration

/** Where the Rust build put things: set by surefire from scripts/kotlin-tests. */
object RustBuild {
    val root: File = File(System.getProperty("dashkeep.root") ?: "../..").canonicalFile
    val target: File = File(System.getProperty("dashkeep.target") ?: "$root/target/debug").canonicalFile
}

/**
 * The simulated dash cam (`target/debug/simcam`) as a child process on a free loopback port.
 * `--instant` records the whole scenario before serving, so a "stream now" sees every segment.
 */
class SimCam private constructor(private val process: Process, val url: String) : AutoCloseable {
    companion object {
        /** A free loopback port (for the BLE loopback link's listener). */
        fun freePort(): Int = ServerSocket(0).use { it.localPort }

        /**
         * Starts a camera with the demo scenario at 10-second segments; waits until it answers.
         * Like a real camera it serves nothing unsigned unless [open] (`simcam --open`, for tests
         * that stream without pairing).
         */
        fun start(
            scenario: String = "tests/simcam/scenarios/demo.toml",
            segmentSecs: Int = 10,
            extraArgs: List<String> = emptyList(),
            open: Boolean = false,
        ): SimCam {
            val binary = File(RustBuild.target, "simcam")
            check(binary.canExecute()) { "build it first: cargo build -p dashkeep-simcam --bin simcam ($binary)" }
            val port = ServerSocket(0).use { it.localPort }
            val command = listOf(
                binary.path, "--listen", "127.0.0.1:$port", "--instant", "--speed", "600",
                "--segment-secs", segmentSecs.toString(), "--scenario", File(RustBuild.root, scenario).path,
            ) + (if (open) listOf("--open") else emptyList()) + extraArgs
            val process = ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(File.createTempFile("simcam", ".log"))
                .start()
            val cam = SimCam(process, "http://127.0.0.1:$port")
            cam.awaitReady()
            return cam
        }
    }

    private fun awaitReady() {
        val http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build()
        val request = HttpRequest.newBuilder(URI("$url/api/v1/status")).timeout(Duration.ofSeconds(2)).build()
        val deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos()
        while (System.nanoTime() < deadline) {
            check(process.isAlive) { "simcam exited with ${process.exitValue()}" }
            try {
                // Any answer means it is serving (a camera in paired mode answers plain HTTP 403).
                if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() in 200..499) return
            } catch (_: java.io.IOException) {
                // not listening yet
            }
            Thread.sleep(100)
        }
        close()
        error("simcam did not answer at $url within 60 s")
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly()
    }
}
