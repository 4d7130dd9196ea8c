package org.dashkeep.ffi

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.DataInputStream
import java.io.DataOutputStream
import java.net.InetSocketAddress
import java.net.Socket
import java.net.SocketTimeoutException
import java.nio.ByteBuffer
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * A `BleCentral` written in Kotlin, as an app would wrap Android's `BluetoothGatt`: here it
 * speaks the simulated camera's loopback GATT transport over a Java socket
 * (`[len u32][op][uuid 16][status][value]`, docs/camera-protocol.md), so the JVM suite proves a
 * platform BLE stack plugs into pairing and the connection unchanged.
 */
class LoopbackCentral : BleCentral {
    private class Frame(val op: Int, val uuid: ByteArray, val status: Int, val value: ByteArray)

    private class Link(address: String, timeoutMs: Int) {
        val socket = Socket().apply {
            val (host, port) = address.split(":")
            connect(InetSocketAddress(host, port.toInt()), timeoutMs)
            tcpNoDelay = true
        }
        val input = DataInputStream(socket.getInputStream())
        val output = DataOutputStream(socket.getOutputStream())
        val notifications = ArrayDeque<Frame>()

        fun send(op: Int, uuid: ByteArray, value: ByteArray = ByteArray(0)) {
            output.writeInt(1 + 16 + 1 + value.size)
            output.writeByte(op)
            output.write(uuid)
            output.writeByte(0)
            output.write(value)
            output.flush()
        }

        fun receive(): Frame {
            val len = input.readInt()
            require(len in 18..65_536) { "bad frame length $len" }
            val op = input.readUnsignedByte()
            val uuid = ByteArray(16).also { input.readFully(it) }
            val status = input.readUnsignedByte()
            val value = ByteArray(len - 18).also { input.readFully(it) }
            return Frame(op, uuid, status, value)
        }

        /** Sends a request and waits for its answer, queueing notifications that come first. */
        fun request(op: Int, uuid: ByteArray, value: ByteArray = ByteArray(0)): ByteArray {
            send(op, uuid, value)
            socket.soTimeout = 10_000
            while (true) {
                val f = receive()
                if (f.op == OP_NOTIFY) { notifications.addLast(f); continue }
                if (f.op != (op or 0x80)) throw PlatformException.Failed("unexpected answer ${f.op}")
                if (f.status != 0) throw PlatformException.Failed("GATT error ${f.status}")
                return f.value
            }
        }
    }

    private val links = ConcurrentHashMap<Long, Link>()
    private val next = AtomicLong(1)

    private fun link(handle: ULong) = links[handle.toLong()] ?: throw PlatformException.Failed("no connection $handle")

    override suspend fun scan(service: String, timeoutMs: ULong): List<BleDevice> = withContext(Dispatchers.IO) {
        ADDRESSES.mapNotNull { address ->
            runCatching {
                val l = Link(address, timeoutMs.toInt())
                try {
                    val adv = l.request(OP_ADVERTISEMENT, ByteArray(16))
                    val advertised = uuidOf(adv.copyOfRange(0, 16))
                    if (advertised == service) BleDevice(address, String(adv, 16, adv.size - 16)) else null
                } finally { l.socket.close() }
            }.getOrNull()
        }
    }

    override suspend fun connect(address: String, timeoutMs: ULong): ULong = withContext(Dispatchers.IO) {
        val l = try { Link(address, timeoutMs.toInt()) } catch (e: java.io.IOException) {
            throw PlatformException.Failed("cannot connect to $address: ${e.message}")
        }
        val handle = next.getAndIncrement()
        links[handle] = l
        handle.toULong()
    }

    override suspend fun read(handle: ULong, characteristic: String): ByteArray =
        withContext(Dispatchers.IO) { io { link(handle).request(OP_READ, bytesOf(characteristic)) } }

    override suspend fun write(handle: ULong, characteristic: String, value: ByteArray) =
        withContext(Dispatchers.IO) { io { link(handle).request(OP_WRITE, bytesOf(characteristic), value) }; Unit }

    override suspend fun subscribe(handle: ULong, characteristic: String) =
        withContext(Dispatchers.IO) { io { link(handle).request(OP_SUBSCRIBE, bytesOf(characteristic)) }; Unit }

    override suspend fun nextNotification(handle: ULong, timeoutMs: ULong): GattNotification? = withContext(Dispatchers.IO) {
        val l = link(handle)
        val f = l.notifications.removeFirstOrNull() ?: try {
            l.socket.soTimeout = timeoutMs.toInt().coerceAtLeast(1)
            io { l.receive() }
        } catch (_: SocketTimeoutException) {
            null
        }
        f?.let { GattNotification(uuidOf(it.uuid), it.value) }
    }

    override suspend fun disconnect(handle: ULong) = withContext(Dispatchers.IO) {
        links.remove(handle.toLong())?.socket?.close()
        Unit
    }

    /** A dropped link is the core's typed BLE failure. */
    private fun <T> io(block: () -> T): T = try { block() } catch (e: java.io.EOFException) {
        throw PlatformException.Failed("link closed")
    } catch (e: java.net.SocketException) {
        throw PlatformException.Failed("link failed: ${e.message}")
    }

    companion object {
        const val OP_READ = 0x01
        const val OP_WRITE = 0x02
        const val OP_SUBSCRIBE = 0x03
        const val OP_NOTIFY = 0x04
        const val OP_ADVERTISEMENT = 0x05

        /** Where this "radio" can hear cameras (a real central scans the air). */
        val ADDRESSES = java.util.concurrent.CopyOnWriteArrayList<String>()

        fun bytesOf(uuid: String): ByteArray {
            val u = UUID.fromString(uuid)
            return ByteBuffer.allocate(16).putLong(u.mostSignificantBits).putLong(u.leastSignificantBits).array()
        }

        fun uuidOf(bytes: ByteArray): String {
            val b = ByteBuffer.wrap(bytes)
            return UUID(b.long, b.long).toString()
        }
    }
}
