// The field scenario through the generated Kotlin bindings on the JVM (JNA), as an Android app
// would call them. Run by run.py against a live server:
// HUIFANG_URL, HUIFANG_USER, HUIFANG_PASSWORD, HUIFANG_FOLLOW_UP (an open follow-up of that user),
// HUIFANG_SURVEY (a survey follow-up of that user's unit).

import cn.huifang.core.*
import cn.huifang.core.client.*
import cn.huifang.core.protocol.*
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.system.exitProcess

val url = System.getenv("HUIFANG_URL")!!
val user = System.getenv("HUIFANG_USER")!!
val password = System.getenv("HUIFANG_PASSWORD")!!
val followUp = System.getenv("HUIFANG_FOLLOW_UP")!!
val survey = System.getenv("HUIFANG_SURVEY")!!

fun check(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

inline fun <reified E : MobileException> expectError(call: () -> Unit): String {
    try {
        call()
    } catch (e: MobileException) {
        check(e is E) { "expected ${E::class.simpleName}, got ${e::class.simpleName}: ${e.message}" }
        check(!e.message.isNullOrBlank()) { "an error carries a message" }
        return e.message!!
    }
    throw AssertionError("expected ${E::class.simpleName}")
}

val http: HttpClient = HttpClient.newHttpClient()

/** A REST call's JSON body, as text: GET, or POST with `body`. */
fun api(token: String?, path: String, body: String? = null): String {
    val request = HttpRequest.newBuilder(URI("$url$path")).header("content-type", "application/json")
    token?.let { request.header("authorization", "Bearer $it") }
    body?.let { request.POST(HttpRequest.BodyPublishers.ofString(it)) }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString()).body()
}

fun tokenOf(username: String): String {
    val login = api(null, "/api/v1/auth/login", """{"username":"$username","password":"$password"}""")
    return Regex("\"token\":\"([^\"]+)\"").find(login)!!.groupValues[1]
}

/** The follow-up as the server sees it (its JSON, from the REST API). */
fun serverFollowUp(): String = api(tokenOf(user), "/api/v1/followups/$followUp")

fun ratings(handling: Int) = Ratings(handling.toUByte(), 5u, 5u, 5u, 5u)

fun main() {
    try {
        run()
        println("kotlin proof: ok")
    } catch (e: Throwable) {
        e.printStackTrace()
        exitProcess(1)
    }
}

fun run() {
    val folder = Files.createTempDirectory("huifang-phone")
    val path = folder.resolve("phone.db").toString()
    // An app keeps this key in Android Keystore (wrapped by a Keystore key) or the iOS Keychain.
    val key = generateStoreKey()
    check(key.size == 32) { "a store key is 32 bytes" }
    expectError<MobileException.InvalidInput> { FieldStore.open(path, ByteArray(16), "1.0.0", null) }
    val store = FieldStore.open(path, key, "1.0.0", null)
    check(store.signedIn() == null) { "nobody is signed in yet" }
    expectError<MobileException.WrongKey> { FieldStore.open(path, generateStoreKey(), "1.0.0", null) }
    val wrong = expectError<MobileException.Unauthorized> { store.logIn(url, user, "not the password", "kotlin proof") }
    check(wrong.contains("wrong username or password")) { wrong }
    expectError<MobileException.InvalidInput> { store.logIn("http://example.com", user, password, "k") }
    expectError<MobileException.NotSignedIn> { store.tasksDue() }

    val me = store.logIn(url, user, password, "kotlin proof")
    check(me.username == user && me.role == Role.STAFF) { "$me" }
    val pages = AtomicInteger()
    val report = store.syncNow(object : SyncObserver {
        override fun onProgress(progress: SyncProgress) {
            pages.set(progress.pages.toInt())
        }
    })
    check(report.received >= 1u && pages.get() >= 1) { "$report" }

    val task = store.tasksByBuilding().flatMap { it.tasks }.first { it.followUpId == followUp }
    check(task.status == "open") { "$task" }
    // Read byte by byte, the file gives away no customer, no user, and not even that it is SQLite.
    val stored = listOf("", "-wal", "-shm").map { java.io.File(path + it) }.filter { it.exists() }
        .map { String(it.readBytes(), Charsets.ISO_8859_1) }.joinToString("")
    for (secret in listOf(task.customerName, task.contactPhone, user, "SQLite format 3")) {
        check(!stored.contains(String(secret.toByteArray(), Charsets.ISO_8859_1))) { "$secret is readable in the file" }
    }

    // Two threads of the app read while a third records: the store serialises them safely.
    val reads = AtomicInteger()
    val readers = (1..2).map {
        thread {
            repeat(200) {
                store.badgeCounts()
                store.tasksByBuilding()
                store.search(task.customerName)
                reads.incrementAndGet()
            }
        }
    }
    expectError<MobileException.InvalidInput> {
        store.recordOutcome(followUp, OutcomeInput(FollowUpMethod.HOME_VISIT, ratings(6), "", null))
    }
    expectError<MobileException.NotFound> { store.task("0".repeat(32)) }
    check(store.badgeCounts().unsynced == 0u) { "a refused change stores nothing" }

    // Offline: a photo of the leak before the repair; the library judges it by its content.
    val picture = java.awt.image.BufferedImage(40, 30, java.awt.image.BufferedImage.TYPE_INT_RGB)
    val jpeg = java.io.ByteArrayOutputStream().also { javax.imageio.ImageIO.write(picture, "jpg", it) }.toByteArray()
    val photo = store.attachPhoto(followUp, PhotoInput(jpeg, PhotoPurpose.BEFORE, "漏水处"))
    check(photo.format == PhotoFormat.JPEG && photo.blobSha256.length == 64) { "$photo" }
    expectError<MobileException.InvalidInput> {
        store.attachPhoto(followUp, PhotoInput("GIF89a".toByteArray(), PhotoPurpose.AFTER, ""))
    }

    // Offline: the customer signs on the phone.
    val strokes = (0 until 3).map { s ->
        Stroke((0 until 30).map { i -> StrokePoint(10f + i, 20f + s, (s * 1000 + i * 10).toULong(), 0.5f) })
    }
    val signature = SignatureInput(strokes, 300u, 120u, task.customerName)
    val done = store.completeWithSignature(followUp, signature, ratings(5), "修好了")
    readers.forEach { it.join() }
    check(reads.get() == 400) { "every read finished: ${reads.get()}" }
    check(done.status == "completed") { "$done" }
    check(store.verifySignature(followUp).intact) { "the signature matches" }
    check(store.badgeCounts().unsynced == 2u) { "the photo and the outcome wait for the server" }
    expectError<MobileException.UnsyncedChanges> { store.signOut(false) }

    // Back online.
    val back = store.syncNow(null)
    check(back.committed == 1u && back.rejected.isEmpty()) { "$back" }
    check(store.badgeCounts().unsynced == 0u) { "nothing left to send" }
    val seen = serverFollowUp()
    check(seen.contains("\"status\":\"completed\"")) { seen }
    check(seen.contains("\"method\":\"on_site_signature\"")) { seen }
    check(seen.contains(photo.blobSha256)) { "the photo is on the server's follow-up: $seen" }

    // The annual survey, answered with the customer during a visit, offline (R-SUR-2): the form
    // is the approved version that came with the reference rows; the answers are checked here as
    // the server checks them, and travel in the survey follow-up's document.
    val form = store.surveyForm(survey)
    check(form.approvedSha256.length == 64 && form.content.questions[0].id == "overall") { "$form" }
    fun answer(question: String, rating: Int? = null, choices: List<String> = listOf(), text: String? = null) =
        SurveyAnswer(question, rating?.toUByte(), choices, text)
    val misfit = expectError<MobileException.InvalidInput> { store.answerSurvey(survey, listOf(answer("overall", 9))) }
    check(misfit.contains("ratings are 1 to 5")) { misfit }
    check(store.badgeCounts().unsynced == 0u) { "refused answers store nothing" }
    val answered = store.answerSurvey(
        survey, listOf(answer("overall", 5), answer("improve", choices = listOf("green")), answer("advice", text = "很好"))
    )
    check(answered.status == "completed") { "$answered" }
    val sent = store.syncNow(null)
    check(sent.committed == 1u && sent.rejected.isEmpty()) { "$sent" }
    val answeredOnServer = api(tokenOf(user), "/api/v1/followups/$survey")
    check(answeredOnServer.contains("\"channel\":\"visit\"") && answeredOnServer.contains("很好")) { answeredOnServer }

    // The app rotates the key: the store goes on under the new one; the old opens nothing.
    val newKey = generateStoreKey()
    store.rekey(newKey)
    check(store.signedIn()?.username == user) { "still signed in after rekey" }
    store.close()
    expectError<MobileException.WrongKey> { FieldStore.open(path, key, "1.0.0", null) }
    val reopened = FieldStore.open(path, newKey, "1.0.0", null)
    check(reopened.signedIn()?.username == user) { "the rekeyed store opens with the new key" }

    // The phone is lost: an administrator orders its wipe; at its next sync it erases itself.
    val mine = api(tokenOf(user), "/api/v1/auth/me")
    val staffId = Regex("\"staff\":\\{\"id\":(\\d+)").find(mine)!!.groupValues[1]
    val admin = tokenOf("admin")
    val sessions = api(admin, "/api/v1/auth/sessions?staff_id=$staffId")
    val phone = Regex("\\{\"id\":(\\d+),[^}]*\"device_name\":\"kotlin proof\",[^}]*\"revoked_at\":null")
        .find(sessions)!!.groupValues[1]
    api(admin, "/api/v1/auth/sessions/$phone/wipe", "{}")
    expectError<MobileException.Wiped> { reopened.syncNow(null) }
    check(listOf("", "-wal", "-shm").none { java.io.File(path + it).exists() }) { "the store is erased" }
    expectError<MobileException.Wiped> { reopened.tasksDue() }
    check(api(admin, "/api/v1/auth/sessions?staff_id=$staffId").contains("\"wipe_confirmed_at\":\"")) {
        "the server shows the wipe confirmed"
    }
}
