//! Photos (issue #18): attached on a phone offline, to a sheet (what the customer showed) and to
//! a repair's follow-up (before and after); uploaded as blobs at the next sync; read — whole or
//! as a thumbnail — only by those who may read a document naming them. A modified phone's photos
//! that were not uploaded, are no pictures, say where they were taken, or remove one already
//! attached are refused whole.

use std::io::Cursor;

use huifang_client::{ClientError, PhotoInput};
use huifang_protocol::*;
use reqwest::StatusCode;
use serde_json::json;
use sha2::Digest;

use crate::helpers::{PASSWORD, TestApp};
use crate::sheets::{accept, handle};
use crate::sync::{Phone, forged_follow_up, server_follow_up, sync_answer};

crate::on_both_backends!(photos_taken_offline_reach_only_those_who_may_read_them);

/// A real picture: `format`, 800 × 600, with an EXIF block saying where it was taken.
fn located_photo(format: image::ImageFormat) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut plain = Cursor::new(Vec::new());
    picture.write_to(&mut plain, format).unwrap();
    let fields = [
        exif::Field {
            tag: exif::Tag::Orientation,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Short(vec![1]),
        },
        exif::Field {
            tag: exif::Tag::GPSLatitude,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Rational(vec![(23, 1).into(), (7, 1).into(), (30, 1).into()]),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut located = Cursor::new(Vec::new());
    writer.write(&mut located, false).unwrap();
    let exif = img_parts::Bytes::from(located.into_inner());
    let bytes = img_parts::Bytes::from(plain.into_inner());
    use img_parts::ImageEXIF;
    match format {
        image::ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(bytes).unwrap();
            jpeg.set_exif(Some(exif));
            jpeg.encoder().bytes().to_vec()
        }
        _ => {
            let mut png = img_parts::png::Png::from_bytes(bytes).unwrap();
            png.set_exif(Some(exif));
            png.encoder().bytes().to_vec()
        }
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn upload(app: &TestApp, token: &str, bytes: &[u8]) -> String {
    let hash = sha(bytes);
    let response = app
        .client
        .post(app.url(&format!("/api/v1/blobs/{hash}")))
        .bearer_auth(token)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    hash
}

async fn photos_taken_offline_reach_only_those_who_may_read_them(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let repair = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let follow_up = repair["follow_up"]["id"].as_str().unwrap().to_owned();
    let handled_sheet = repair["sheet"]["id"].as_str().unwrap().to_owned();
    // A sheet still being worked on (a handled one's content is frozen, photos too).
    let sheet = accept(&app, &csc_token, "黄建华", "ordinary", "repair").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let phone = Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    let staff = app.staff_id("bsw.csc.01").await;

    // Offline: the phone judges the picture by its content and removes where it was taken.
    let located = located_photo(image::ImageFormat::Jpeg);
    assert!(carries_location(&located));
    let input = |bytes: Vec<u8>, purpose| PhotoInput {
        bytes,
        purpose,
        caption: " 厨房水管 ".into(),
    };
    let before = phone
        .store
        .attach_photo(&follow_up, input(located.clone(), PhotoPurpose::Before))
        .unwrap();
    assert_eq!(
        (
            before.format,
            before.purpose,
            before.taken_by,
            before.caption.as_str()
        ),
        (PhotoFormat::Jpeg, PhotoPurpose::Before, staff, "厨房水管")
    );
    let kept = phone.store.photo(&before.blob_sha256).unwrap();
    assert!(
        !carries_location(&kept),
        "the location is removed on the phone"
    );
    assert_eq!(sha(&kept), before.blob_sha256, "named by its content");
    let shown = phone
        .store
        .attach_photo(
            &sheet,
            input(
                located_photo(image::ImageFormat::Png),
                PhotoPurpose::Reported,
            ),
        )
        .unwrap();
    let frozen = phone
        .store
        .attach_photo(
            &handled_sheet,
            input(located.clone(), PhotoPurpose::Reported),
        )
        .unwrap_err();
    assert!(
        frozen.to_string().contains("can no longer change"),
        "{frozen}"
    );
    let twice = phone
        .store
        .attach_photo(&follow_up, input(located.clone(), PhotoPurpose::After))
        .unwrap_err();
    assert!(twice.to_string().contains("attached already"), "{twice}");
    for (target, bytes, purpose, reason) in [
        (
            &follow_up,
            b"GIF89a......".to_vec(),
            PhotoPurpose::After,
            "JPEG, PNG or HEIC",
        ),
        (
            &follow_up,
            located_photo(image::ImageFormat::Png),
            PhotoPurpose::Reported,
            "does not belong",
        ),
        (
            &sheet,
            located.clone(),
            PhotoPurpose::Before,
            "does not belong",
        ),
    ] {
        let refused = phone
            .store
            .attach_photo(target, input(bytes, purpose))
            .unwrap_err();
        assert!(
            matches!(&refused, ClientError::InvalidInput { reason: r } if r.contains(reason)),
            "{reason}: {refused:?}"
        );
    }
    assert_eq!(phone.store.follow_up(&follow_up).unwrap().photos.len(), 1);

    // At the next sync the blobs go first, then the documents that name them.
    let report = phone.sync().await;
    assert_eq!((report.sent, report.committed), (2, 2), "{report:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    let on_server = server_follow_up(&app, &csc_token, &follow_up).await;
    assert_eq!(
        on_server["photos"][0]["blob_sha256"],
        before.blob_sha256.as_str()
    );
    let photo = app
        .get(&csc_token, &format!("/api/v1/blobs/{}", before.blob_sha256))
        .await;
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert_eq!(photo.bytes().await.unwrap().to_vec(), kept);
    let head = app.login("bsw.office.head", PASSWORD).await;
    for hash in [&before.blob_sha256, &shown.blob_sha256] {
        let small = app
            .get(&head, &format!("/api/v1/blobs/{hash}/thumbnail"))
            .await;
        assert_eq!(small.status(), StatusCode::OK, "{hash}");
        let drawn = image::load_from_memory(&small.bytes().await.unwrap()).unwrap();
        assert_eq!((drawn.width(), drawn.height()), (320, 240));
    }
    // The dashboard's lists show them as thumbnails to the unit head, signed in by cookie.
    let cookie = crate::dashboard::session_cookie(
        &crate::dashboard::sign_in(&app, "bsw.office.head", PASSWORD, "/app").await,
    );
    let thumb = |hash: &str| format!("<img class=\"thumb\" src=\"/api/v1/blobs/{hash}/thumbnail\"");
    let listed = crate::dashboard::page(&app, &cookie, "/app/follow-ups")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&thumb(&before.blob_sha256)),
        "follow-ups list"
    );
    let listed = crate::dashboard::page(&app, &cookie, "/app/sheets")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&thumb(&shown.blob_sha256)), "sheets list");
    let drawn = crate::dashboard::page(
        &app,
        &cookie,
        &format!("/api/v1/blobs/{}/thumbnail", shown.blob_sha256),
    )
    .await;
    assert_eq!(drawn.status(), StatusCode::OK);
    assert_eq!(drawn.headers()["content-type"], "image/jpeg");
    // … and each record's own page, linked from the list, shows them with their captions.
    let record = crate::dashboard::page(&app, &cookie, &format!("/app/follow-ups/{follow_up}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&format!("href=\"/app/sheets/{sheet}\"")),
        "linked"
    );
    let drawn_at = |hash: &str| format!("src=\"/api/v1/blobs/{hash}/thumbnail\"");
    assert!(record.contains(&drawn_at(&before.blob_sha256)), "{record}");
    assert!(record.contains("维修前 · 厨房水管"), "{record}");
    let record = crate::dashboard::page(&app, &cookie, &format!("/app/sheets/{sheet}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(record.contains(&drawn_at(&shown.blob_sha256)), "{record}");
    let stranger_cookie = crate::dashboard::session_cookie(
        &crate::dashboard::sign_in(&app, "mkt.head", PASSWORD, "/app").await,
    );
    let hidden =
        crate::dashboard::page(&app, &stranger_cookie, &format!("/app/sheets/{sheet}")).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);

    // Another unit reads neither the photo nor its thumbnail, and learns nothing of it.
    let stranger = app.login("mkt.head", PASSWORD).await;
    for path in ["", "/thumbnail"] {
        let response = app
            .get(
                &stranger,
                &format!("/api/v1/blobs/{}{path}", before.blob_sha256),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Another phone of the unit shows the photo: fetched from the server once, then kept for
    // offline; a phone of another unit is refused it.
    let fetch_on = |phone: &Phone, hash: &str| {
        let (store, transport, hash) = (
            phone.store.clone(),
            phone.transport.clone(),
            hash.to_owned(),
        );
        tokio::task::spawn_blocking(move || store.fetch_photo(transport.as_ref(), &hash))
    };
    let colleague = Phone::sign_in(&app, "bsw.csc.01").await;
    assert!(
        colleague.store.photo(&before.blob_sha256).is_err(),
        "not on it yet"
    );
    let fetched = fetch_on(&colleague, &before.blob_sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fetched, kept);
    assert_eq!(
        colleague.store.photo(&before.blob_sha256).unwrap(),
        kept,
        "kept"
    );
    let outsider = Phone::sign_in(&app, "mkt.head").await;
    let refused = fetch_on(&outsider, &before.blob_sha256)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&refused, ClientError::ServerRefused { reason } if reason.starts_with("404")),
        "{refused:?}"
    );

    // A modified phone: each forged photo is refused whole and stores nothing.
    let raw_located = upload(&app, &csc_token, &located).await;
    let text = upload(&app, &csc_token, "不是照片".as_bytes()).await;
    let mut jpeg = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(64, 48, image::Rgb([1, 2, 3]))
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let plain = upload(&app, &csc_token, &jpeg.into_inner()).await;
    let photo_ref = |hash: &str, format| PhotoRef {
        blob_sha256: hash.to_owned(),
        format,
        purpose: PhotoPurpose::After,
        taken_by: staff,
        taken_at: format_time(app.now()),
        caption: String::new(),
    };
    let cases: Vec<(&str, PhotoRef, bool)> = vec![
        (
            "says where it was taken",
            photo_ref(&raw_located, PhotoFormat::Jpeg),
            false,
        ),
        ("is not a photo", photo_ref(&text, PhotoFormat::Jpeg), false),
        (
            "was not uploaded",
            photo_ref(&"ab".repeat(32), PhotoFormat::Jpeg),
            false,
        ),
        (
            "is a jpeg file, not png",
            photo_ref(&plain, PhotoFormat::Png),
            false,
        ),
        (
            "not removed or changed",
            photo_ref(&raw_located, PhotoFormat::Jpeg),
            true,
        ),
    ];
    for (reason, forged, replace) in cases {
        let request = forged_follow_up(&app, &csc_token, &follow_up, |value| {
            if replace {
                value.photos = vec![forged];
            } else {
                value.photos.push(forged);
            }
        })
        .await;
        let seq = app.change_seq().await;
        let answer = sync_answer(&app, &csc_token, &request).await;
        let told = (&answer.committed, &answer.rejections);
        assert!(answer.committed.is_empty(), "{reason}: {told:?}");
        assert!(
            answer.rejections[0].refused && answer.rejections[0].reason.contains(reason),
            "{reason}: {told:?}"
        );
        assert_eq!(app.change_seq().await, seq, "{reason}: nothing stored");
    }
    let unread = app
        .get(&csc_token, &format!("/api/v1/blobs/{raw_located}"))
        .await;
    assert_eq!(
        unread.status(),
        StatusCode::NOT_FOUND,
        "no document names it"
    );

    // A company that keeps photos' locations takes the located picture as it is.
    let admin = app.admin_token().await;
    let mut rules = app.get_json(&admin, "/api/v1/admin/rules").await;
    rules["keep_photo_location"] = json!(true);
    let changed = app
        .client
        .put(app.url("/api/v1/admin/rules"))
        .bearer_auth(&admin)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());
    let request = forged_follow_up(&app, &csc_token, &follow_up, |value| {
        value
            .photos
            .push(photo_ref(&raw_located, PhotoFormat::Jpeg))
    })
    .await;
    let answer = sync_answer(&app, &csc_token, &request).await;
    assert_eq!(
        answer.committed,
        vec![follow_up.clone()],
        "{:?}",
        answer.rejections
    );
}
