#pragma once
// HDF5 access that is locked by construction. Debian's HDF5 is built without thread safety, and cvtl
// calls it from two threads at once in training (the cache prefetcher reads while the trainer writes
// checkpoints). Every HDF5 object cvtl keeps lives in a Handle: it is created, used and destroyed only
// while the calling thread holds the library lock, which Access and Lock hold for their lifetime.
#include <H5Cpp.h>

#include <mutex>
#include <optional>
#include <string>

namespace cvtl::h5 {

// Holding one is holding the HDF5 library lock (recursive: nested holders on one thread are fine).
class Lock {
public:
    Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

private:
    std::unique_lock<std::recursive_mutex> lock_;
};

// An HDF5 object (or a struct of them) reachable only through access(), which holds the lock.
template <class T>
class Handle {
public:
    class Access {
    public:
        T* operator->() const { return &object_; }
        T& operator*() const { return object_; }

    private:
        friend class Handle;
        explicit Access(T& object) : object_(object) {}
        Lock lock_;  // taken before the object is touched, released after
        T& object_;
    };

    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { close(); }

    // Makes the object with `make()` under the lock (closing any previous one).
    template <class Make>
    void open(Make&& make) {
        Lock lock;
        object_.reset();
        object_.emplace(make());
    }
    void close() {
        Lock lock;
        object_.reset();
    }
    bool is_open() const { return object_.has_value(); }
    Access access() const { return Access(*object_); }

private:
    mutable std::optional<T> object_;
};

// An HDF5 file opened under the lock.
class File : public Handle<H5::H5File> {
public:
    File() = default;
    File(const std::string& path, unsigned flags, const H5::FileAccPropList& access = H5::FileAccPropList::DEFAULT);
};

// H5::H5File::isHdf5 under the lock.
bool is_hdf5(const std::string& path);

}  // namespace cvtl::h5
